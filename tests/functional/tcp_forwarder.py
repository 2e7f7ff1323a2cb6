"""A TCP forwarder for tests: a database "port" that can go up, down or silent.

``Forwarder(port, target)`` listens on 127.0.0.1:``port`` once started and
copies bytes both ways to ``target``; ``stop()`` closes the listener and every
connection (the database seems to be gone). ``start(silent=True)`` is a port
whose connections never complete, as when a firewall or a dead host drops the
packets: it listens but never accepts, and its (one place) accept queue is kept
full, so that Linux drops every new SYN.
"""

import contextlib
import socket
import threading


class Forwarder:
    """Forward 127.0.0.1:``port`` to 127.0.0.1:``target`` while started."""

    def __init__(self, port: int, target: int) -> None:
        self.port, self.target = port, target
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self.silent = False
        self.accepted = 0

    def start(self, silent: bool = False) -> "Forwarder":
        self.silent = silent
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(0 if silent else 64)
        self._listener = listener
        if silent:
            self._fill_accept_queue()
        else:
            threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _fill_accept_queue(self) -> None:
        """Connect until a connection no longer completes: the queue is full."""
        for _ in range(8):
            sock = socket.socket()
            sock.settimeout(0.3)
            self._track(sock)
            try:
                sock.connect(("127.0.0.1", self.port))
            except OSError:
                return
        raise RuntimeError("the accept queue did not fill up")

    def stop(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, []
            listener, self._listener = self._listener, None
        for sock in ([listener] if listener else []) + sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            self._track(client)
            self.accepted += 1
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            self._track(upstream)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

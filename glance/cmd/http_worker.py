"""The gunicorn worker of ``glance-api``: gthread with deadlines on client sockets.

gunicorn's threaded worker reads from blocking sockets with no timeout. It waits
a few seconds for the first byte of a new connection without a thread and closes
connections idle for ``keepalive`` seconds, but once a request has started it
waits for the rest for ever: a client that sends its headers a byte at a time
(slowloris), or declares a body it never sends, holds a thread for good. This
worker bounds both:

* the request line and headers must arrive within ``header_read_timeout``
  seconds in all (a deadline, not a per-read timeout, so trickling bytes does not
  extend it); otherwise the connection is closed without a response;
* once the headers are in, every read or write may stall at most
  ``client_socket_timeout`` seconds; a body read that times out ends the
  request with 408 (``glance.exception.RequestTimeout``).

Requests its HTTP parser refuses (a bad request line, too many or too large
headers, ``Expect: teapot``, ...) are answered in our JSON error format, not
gunicorn's HTML page (``glance.cmd.http_errors``).

Request bodies (``glance.cmd.http_body``): a chunked body is refused as soon
as its chunk sizes add up to more than the call reading it accepts
(``glance.api.wsgi.LIMIT_BODY``), and a response says ``Connection: keep-alive``
only when the request's body has been read to its end (what an early error
leaves unread is dropped if it is small, else the answer says ``Connection:
close`` and the connection is closed gracefully).
"""

import logging
import select
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

from gunicorn.http.body import ChunkedReader
from gunicorn.workers.gthread import ThreadWorker

from glance.api import wsgi
from glance.api.v2 import router as v2_router
from glance.cmd import http_body, http_errors

_SOCKET_ERROR_MESSAGE = "Socket error processing request."
# Seconds a thread waits, after a keep-alive response, for the client's next request.
KEEPALIVE_LINGER = 0.002


class _HeaderTimeoutFilter(logging.Filter):
    """gunicorn logs a read timeout with a traceback; a slow client needs one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if record.msg == _SOCKET_ERROR_MESSAGE and isinstance(error, TimeoutError):
            record.msg = "Closed a connection whose request did not arrive in time"
            record.args = ()
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


class GlanceThreadWorker(ThreadWorker):
    """gunicorn's gthread worker with a header deadline and a body socket timeout.

    The master sets both timeouts with :func:`configure` before it forks the
    workers.
    """

    header_read_timeout: float = 30.0
    client_socket_timeout: float | None = 900.0

    def init_process(self) -> None:
        self.log.error_log.addFilter(_HeaderTimeoutFilter())
        # The master built the application without them (glance/cmd/api.py).
        v2_router.start_process_jobs()
        super().init_process()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self._application = self.wsgi
        self.wsgi = self._serve

    def _serve(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        """The application, with the server's hooks in ``environ``; when it starts
        its response, the connection's fate is decided.

        The response closes the connection when the application says
        ``Connection: close`` (gunicorn drops that header: it is hop-by-hop) or
        when what is left of the request body cannot be dropped quickly.
        """
        body = environ.get("wsgi.input")
        reader = getattr(body, "reader", None)
        if isinstance(reader, http_body.LimitedChunkedReader):
            environ[wsgi.LIMIT_BODY] = reader.limit_to
        response = getattr(start_response, "__self__", None)  # gunicorn's Response
        sock = environ.get("gunicorn.socket")

        def start(status: str, headers: list[tuple[str, str]], exc_info=None):
            if response is not None and (
                    any(name.lower() == "connection" and value.lower() == "close"
                        for name, value in headers)
                    or sock is None or not http_body.finish(body, sock)):
                response.force_close()
            return start_response(status, headers, exc_info)

        return self._application(environ, start)

    def handle(self, conn: Any):
        """Serve a request on ``conn``, then any next one that arrives within
        ``KEEPALIVE_LINGER`` seconds, on this same thread.

        gunicorn hands a keep-alive connection back to the worker's main loop after
        each response and to a pool thread again when the next request comes: two
        thread hand-offs, about 0.1 ms per request. A client on a keep-alive
        connection usually sends its next request at once; waiting briefly for it
        here saves both (measured: a trivial app 3,180 -> 4,900 requests/s on one
        connection). A slower client goes back to gunicorn's poller as before.
        """
        result = self._handle_one(conn)
        while result is True and self.alive and self._next_request_arrives(conn):
            result = self._handle_one(conn)
        if result is False:
            self._before_close(conn)
        return result

    @staticmethod
    def _before_close(conn: Any) -> None:
        """Get a connection that is about to close ready for gunicorn's close.

        gunicorn closes it on the worker's main thread, half-closing and then
        reading what the client still sends for up to 2 s: the main loop, and so
        every other connection of this worker, waits meanwhile for a client that
        keeps its end open. So that wait, when needed (a body left unread), happens
        here on this request's thread (``http_body.linger``); otherwise the read side
        is simply shut, and gunicorn's close returns at once.
        """
        request = getattr(conn.parser, "mesg", None)
        if request is not None and not http_body.read_completely(
                getattr(request, "body", None)):
            http_body.linger(conn.sock)
            return
        try:
            conn.sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass

    @staticmethod
    def _next_request_arrives(conn: Any) -> bool:
        unreader = getattr(conn.parser, "unreader", None)
        if unreader is None or unreader.buf.tell():
            return False  # bytes already read ahead: gunicorn re-queues the connection
        try:
            ready, _, _ = select.select([conn.sock], [], [], KEEPALIVE_LINGER)
        except (OSError, ValueError):
            return False
        return bool(ready)

    def _handle_one(self, conn: Any):
        """Arm the header deadline each time a request starts on ``conn``."""
        if not getattr(conn, "_glance_armed", False):
            conn._glance_armed = True
            initialize = conn.init

            def init() -> None:
                # gunicorn makes the socket blocking (no timeout) right before this.
                initialize()
                self._arm_header_deadline(conn)

            conn.init = init
        return super().handle(conn)

    def _arm_header_deadline(self, conn: Any) -> None:
        deadline = time.monotonic() + self.header_read_timeout
        conn._glance_header_deadline = deadline
        conn.sock.settimeout(self.header_read_timeout)
        unreader = getattr(conn.parser, "unreader", None)
        if unreader is None or getattr(unreader, "_glance_wrapped", False):
            return
        read_chunk = unreader.chunk

        def chunk(size_hint=None):
            deadline = getattr(conn, "_glance_header_deadline", None)
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("the request headers did not arrive in time")
                conn.sock.settimeout(remaining)
            return read_chunk(size_hint)

        unreader.chunk = chunk
        unreader._glance_wrapped = True

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """Answer a request that failed outside the application in JSON (gunicorn
        writes an HTML page), then let the client finish sending before the close."""
        status, message = http_errors.describe(exc)
        peer = addr[0] if addr else ""
        if status >= 500:
            self.log.exception("Error handling request from %s", peer or "unix socket")
        else:
            self.log.warning("Invalid request from ip=%s: %s", peer, exc)
        try:
            client.sendall(http_errors.render(status, message))
        except OSError:
            self.log.debug("Failed to send the error response.")
            return
        http_body.linger(client)

    def handle_request(self, req: Any, conn: Any):
        """Headers are in: from now on each socket operation may stall a while."""
        conn._glance_header_deadline = None
        conn.sock.settimeout(self.client_socket_timeout)
        body = getattr(req, "body", None)
        if body is not None and type(body.reader) is ChunkedReader:
            body.reader = http_body.LimitedChunkedReader(req, req.unreader)
        return super().handle_request(req, conn)


def configure(header_read_timeout: float, client_socket_timeout: float) -> None:
    """Set the two timeouts (seconds; a ``client_socket_timeout`` of 0 means none)."""
    GlanceThreadWorker.header_read_timeout = header_read_timeout
    GlanceThreadWorker.client_socket_timeout = client_socket_timeout or None

"""HTTP/1.1 by hand over a raw socket, for tests that need to see the framing:
exact bytes on the wire, bad chunk framing, what happens to a connection after
a response (kept open and usable, or closed cleanly)."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from tests import helpers

# Chunked request bodies (the bytes after the headers) that break HTTP/1.1's chunk
# framing, each in its own way; every server in front of glance should refuse them.
BAD_CHUNKED_BODIES = {
    "letters": b"zz\r\nabc\r\n0\r\n\r\n",
    "negative": b"-5\r\nabcde\r\n0\r\n\r\n",
    "0x-prefix": b"0x3\r\nabc\r\n0\r\n\r\n",
    "spaces": b" 3 \r\nabc\r\n0\r\n\r\n",
    "bad-extension": b"3;;;;=\r\nabc\r\n0\r\n\r\n",
    "missing-terminator": b"3\r\nabcXY0\r\n\r\n",
    "size-line-without-end": b"1" * 17000,  # over limit_request_field_size
}


@dataclass
class Response:
    """A parsed response: status, headers (lower-case names) and body."""

    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    raw_head: bytes = b""

    @property
    def keeps_alive(self) -> bool:
        return self.headers.get("connection", "").lower() != "close"


def connect(server: helpers.Server, timeout: float = 15.0) -> socket.socket:
    """A new connection to ``server``."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def head(method: str, path: str, headers: dict[str, str] | None = None,
         version: str = "HTTP/1.1") -> bytes:
    """A request line and header block (with ``Host``), ending in the blank line."""
    lines = [f"{method} {path} {version}", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def chunked(data: bytes, piece: int = 65536) -> bytes:
    """``data`` in chunked transfer coding, last chunk and empty trailer included."""
    out = bytearray()
    for start in range(0, len(data), piece):
        part = data[start:start + piece]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
    return bytes(out + b"0\r\n\r\n")


class _Reader:
    """Buffered reads from a socket (what the response parser needs)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection mid-response")
        self.buffer += data

    def until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            self._fill()
        found, self.buffer = self.buffer.split(marker, 1)
        return found

    def exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        found, self.buffer = self.buffer[:size], self.buffer[size:]
        return found


def read_response(sock: socket.socket, method: str = "GET") -> Response:
    """Read one response (Content-Length or chunked body) from ``sock``.

    Raises ``ConnectionError`` when the server closes before a whole response.
    Bytes read past the response are an error: tests send one request at a time.
    """
    reader = _Reader(sock)
    raw_head = reader.until(b"\r\n\r\n")
    status_line, *lines = raw_head.decode("latin-1").split("\r\n")
    _, status, reason = (status_line.split(" ", 2) + [""])[:3]
    headers: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    response = Response(int(status), reason, headers, raw_head=raw_head)
    if method == "HEAD" or response.status in (204, 304) or response.status < 200:
        body = b""
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        parts = []
        while (size := int(reader.until(b"\r\n").split(b";")[0], 16)):
            parts.append(reader.exactly(size))
            reader.exactly(2)
        reader.until(b"\r\n")  # no trailers from our server
        body = b"".join(parts)
    else:
        body = reader.exactly(int(headers.get("content-length", "0")))
    response.body = body
    assert not reader.buffer, f"bytes after the response: {reader.buffer[:100]!r}"
    return response


def closed_cleanly(sock: socket.socket, timeout: float = 10.0) -> bool:
    """Whether the server ends the connection with a FIN (not a reset) within
    ``timeout`` seconds and sends nothing more before it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], deadline - time.monotonic())
        if not readable:
            break
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            return False
        return data == b""
    return False


def send_all(sock: socket.socket, pieces: Iterable[bytes]) -> None:
    for piece in pieces:
        sock.sendall(piece)

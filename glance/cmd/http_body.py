"""Request bodies on a gunicorn connection: what ``glance-api``'s worker does so that
a connection is never promised to stay open and then dropped.

* A chunked body is refused at the size line that takes it past the limit of the
  call reading it (``LimitedChunkedReader``), not after waiting for the data.
* When the response starts, the rest of an unread body decides the
  ``Connection`` header (``finish``): up to ``DRAIN_BYTES`` that arrive within
  ``DRAIN_SECONDS`` are read and dropped and the connection stays open; anything
  more (an early 404 to a large upload, say) and the answer says
  ``Connection: close``.
* Such a connection is then closed the way RFC 9112 section 9.6 asks (``linger``):
  the write side first, then what the client is still sending is read and dropped
  for up to ``LINGER_SECONDS``, so the client reads the answer instead of a reset.
"""

import socket
import time
from typing import Any

from gunicorn.http.body import ChunkedReader, LengthReader

from glance import exception

#: Most bytes of an unread body dropped to keep a connection open.
DRAIN_BYTES = 64 * 1024
#: Longest wait for them.
DRAIN_SECONDS = 1.0
#: Longest time a closing connection reads what the client still sends.
LINGER_SECONDS = 2.0


class LimitedChunkedReader(ChunkedReader):
    """gunicorn's chunked-body reader that adds up the sizes the chunks declare and
    raises ``BodyTooLarge`` at the size line that takes the total past ``limit``."""

    def __init__(self, req: Any, unreader: Any) -> None:
        super().__init__(req, unreader)
        self.limit: int | None = None
        self.declared = 0
        self.failed = False  # a read raised (gunicorn's Body says so only lately)

    def read(self, size: int) -> bytes:
        try:
            return super().read(size)
        except Exception:
            self.failed = True
            raise

    def limit_to(self, limit: int) -> None:
        """Refuse the body once its chunks declare more than ``limit`` bytes."""
        self.limit = limit if self.limit is None else min(self.limit, limit)

    def parse_chunk_size(self, unreader: Any, data: bytes | None = None):
        size, rest = super().parse_chunk_size(unreader, data=data)
        self.declared += size
        if self.limit is not None and self.declared > self.limit:
            raise exception.BodyTooLarge(limit=self.limit)
        return size, rest


def _failed(body: Any) -> bool:
    """Whether a read of ``body`` raised: where it ends is then unknown."""
    return bool(getattr(body, "failed", False)
                or getattr(getattr(body, "reader", None), "failed", False))


def read_completely(body: Any) -> bool:
    """Whether every byte of the request body has been taken off the connection."""
    if body is None:
        return True
    if _failed(body):
        return False
    reader = getattr(body, "reader", None)
    if isinstance(reader, LengthReader):
        return reader.length == 0
    if isinstance(reader, ChunkedReader):
        return reader.parser is None
    return False


def finish(body: Any, sock: socket.socket) -> bool:
    """Read and drop what is left of ``body`` if that is little and comes quickly;
    whether the body is now completely read (so the connection may stay open)."""
    if read_completely(body):
        return True
    if _failed(body):
        return False
    reader = body.reader
    if isinstance(reader, LengthReader) and reader.length > DRAIN_BYTES:
        return False  # too much to wait for: close instead
    deadline = time.monotonic() + DRAIN_SECONDS
    prior = sock.gettimeout()
    dropped = 0
    try:
        while dropped <= DRAIN_BYTES:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            sock.settimeout(remaining)
            data = body.read(8192)
            if not data:
                return True
            dropped += len(data)
        return False
    except Exception:  # noqa: BLE001 - a stall, a reset, bad framing: close
        return False
    finally:
        try:
            sock.settimeout(prior)
        except OSError:
            pass


def linger(sock: socket.socket) -> None:
    """Half-close ``sock``, then drop what the client sends until it closes its side
    or ``LINGER_SECONDS`` pass. gunicorn closes the socket afterwards; the read side
    is shut first, so its own (shorter) linger on the worker's main thread ends at
    once instead of waiting on a client that is still sending."""
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        return
    deadline = time.monotonic() + LINGER_SECONDS
    scratch = bytearray(64 * 1024)
    try:
        while (remaining := deadline - time.monotonic()) > 0:
            sock.settimeout(remaining)
            if not sock.recv_into(scratch):
                break
    except OSError:
        pass
    try:
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass

"""Byte ranges of image data: a body that serves any range of itself (WebOb's
``app_iter_range`` hook), RFC 7233 range sets, and ``multipart/byteranges``."""

import re
import uuid
from collections.abc import Callable, Iterator

from glance.api.middleware.range import byte_position
from glance.services.image_data import Reader

MAX_RANGES = 100
_SPEC_RE = re.compile(r"^(\d*)-(\d*)$")


class DataBody:
    """An app_iter over image data that can also serve any byte range of it."""

    def __init__(self, read: Reader, close: Callable[[], None] | None = None) -> None:
        self._read = read
        self._close = close

    def __iter__(self) -> Iterator[bytes]:
        return self._read(0, None)

    def app_iter_range(self, start: int, stop: int) -> "DataBody":
        """WebOb's hook: the bytes ``start``..``stop - 1``."""
        return DataBody(lambda _o, _n: self._read(start, stop - start), self._close)

    def close(self) -> None:
        if self._close is not None:
            self._close()


def parse_ranges(header: str, size: int) -> list[tuple[int, int]] | None:
    """RFC 7233 byte ranges resolved against ``size`` as (start, stop) pairs.

    None when the header is not a valid ``bytes=`` range set (it is then ignored);
    unsatisfiable ranges are dropped, so an empty list means 416.
    """
    unit, sep, specs = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    resolved: list[tuple[int, int]] = []
    parsed = 0
    for spec in specs.split(","):
        spec = spec.strip()
        if not spec:
            continue
        match = _SPEC_RE.match(spec)
        if match is None or spec == "-":
            return None
        first, last = match.groups()
        parsed += 1
        if first:
            start = byte_position(first)
            if last and byte_position(last) < start:
                return None
            stop = min(byte_position(last) + 1, size) if last else size
            if start < size:
                resolved.append((start, stop))
        elif byte_position(last) > 0 and size > 0:
            resolved.append((max(0, size - byte_position(last)), size))
    if parsed == 0 or parsed > MAX_RANGES:
        return None
    return resolved


def multipart(body: DataBody, ranges: list[tuple[int, int]], size: int,
               content_type: str) -> tuple[str, int, Iterator[bytes]]:
    boundary = uuid.uuid4().hex
    heads = [(f"--{boundary}\r\nContent-Type: {content_type}\r\n"
              f"Content-Range: bytes {start}-{stop - 1}/{size}\r\n\r\n").encode()
             for start, stop in ranges]
    tail = f"--{boundary}--\r\n".encode()
    pairs = list(zip(heads, ranges, strict=True))
    length = sum(len(h) + (stop - start) + 2 for h, (start, stop) in pairs)
    length += len(tail)

    def generate() -> Iterator[bytes]:
        try:
            for head, (start, stop) in pairs:
                yield head
                yield from body.app_iter_range(start, stop)
                yield b"\r\n"
            yield tail
        finally:
            body.close()

    return f"multipart/byteranges; boundary={boundary}", length, generate()

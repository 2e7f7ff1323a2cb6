"""``/v2/images/{id}/file``: streaming upload (PUT) and download (GET) of image data.

Downloads are WebOb conditional responses: a single ``Range`` (206, or 416 with
``Content-Range: bytes */size``), ``If-Range`` and ``If-None-Match`` against the
ETag (the image's os_hash, else its md5) are WebOb's work through the body's
``app_iter_range``. Several ranges in one request are answered here with
``multipart/byteranges``. A last-byte-pos past the end (of any length) is
clamped; a first-byte-pos past it is 416. The deprecated ``Content-Range``
request header (taken off by ``glance.api.middleware.range``) is answered here
too: a range inside the image as the ``Range`` it means, anything else 416 with
Glance's messages. Without a range, a local file goes to the server's
``wsgi.file_wrapper`` (sendfile).
"""

import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import webob
from oslo_config import cfg

from glance import exception, image_cache, notifier
from glance import store as image_store
from glance.api import wsgi
from glance.api.middleware.range import LEGACY_RANGE_ENV, LegacyRange, byte_position
from glance.api.v2.images import check_image_id
from glance.domain.image import Image
from glance.services.image_data import ImageDataService

CONF = cfg.CONF
READ_CHUNK = 1024 * 1024
MAX_RANGES = 100
_SPEC_RE = re.compile(r"^(\d*)-(\d*)$")


# -- bodies ------------------------------------------------------------------------------

Reader = Callable[[int, int | None], Iterator[bytes]]


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


def _file_reader(handle) -> Reader:
    def read(offset: int, length: int | None) -> Iterator[bytes]:
        remaining = length
        while remaining is None or remaining > 0:
            size = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
            chunk = os.pread(handle.fileno(), size, offset)
            if not chunk:
                return
            offset += len(chunk)
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk
    return read


def _closing(*closers: Callable[[], None]) -> Callable[[], None]:
    """One close callback calling each of ``closers``."""
    def close() -> None:
        for closer in closers:
            closer()
    return close


@dataclass
class ImageData:
    """What the download serializer renders: the image and a body (None: no data)."""

    image: Image
    body: DataBody | None = None
    local_file: Any = None
    ranges_supported: bool = True


# -- multiple ranges ---------------------------------------------------------------------

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


def _multipart(body: DataBody, ranges: list[tuple[int, int]], size: int,
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


# -- the resource ------------------------------------------------------------------------

class RequestDeserializer:
    """Checks the upload request and hands the controller a stream of chunks."""

    def upload(self, request: wsgi.Request) -> dict[str, Any]:
        content_type = request.content_type
        if content_type != "application/octet-stream":
            raise exception.UnsupportedMediaType(content_type=content_type or "None")
        backend = request.headers.get("X-Image-Meta-Store")
        if backend is not None and image_store.is_multi_store() \
                and backend not in image_store.store_ids():
            raise exception.UnknownStore(store=backend)
        if not image_store.is_multi_store():
            backend = None
        chunks = request.iter_body(CONF.upload_chunk_size, limit=CONF.image_size_cap,
                                   too_large=exception.ImageSizeLimitExceeded)
        return {"chunks": chunks, "size": request.content_length, "backend": backend}


class ImageDataController:
    """Upload and download; each action takes plain arguments."""

    def __init__(self, service: ImageDataService | None = None) -> None:
        self.service = service or ImageDataService()

    def upload(self, request: wsgi.Request, image_id: str, chunks, size: int | None,
               backend: str | None) -> None:
        check_image_id(image_id)
        self.service.upload(request.context, image_id, chunks, size, backend)

    def download(self, request: wsgi.Request, image_id: str) -> ImageData:
        check_image_id(image_id)
        found = self.service.download(request.context, image_id)
        if found.location is None:
            return ImageData(found.image)
        # image.send counts the bytes served, so a metered download skips sendfile.
        meter = notifier.send_meter(request.context, found.image, request.remote_addr)
        cached = image_cache.open_cached(found.image)  # this node's copy, if any
        path = None if cached else self.service.local_path(found.location)
        if cached is not None or path is not None:
            try:
                handle = cached or open(path, "rb")  # noqa: SIM115 - closed by the body
            except FileNotFoundError as err:
                raise exception.NotFound(
                    "The image data could not be found in the store.") from err
            if meter is None:
                return ImageData(found.image, DataBody(_file_reader(handle), handle.close),
                                 handle)
            return ImageData(found.image, DataBody(meter.wrap(_file_reader(handle)),
                                                   _closing(handle.close, meter.close)))
        location, context = found.location, request.context
        ranges_supported = self.service.supports_ranges(location)

        def read(offset: int, length: int | None) -> Iterator[bytes]:
            return self.service.read(location, offset, length, context)
        read = image_cache.tee(found.image, read)  # a whole download fills the cache
        body = DataBody(read) if meter is None else DataBody(meter.wrap(read), meter.close)
        return ImageData(found.image, body, ranges_supported=ranges_supported)


class ResponseSerializer:
    """Renders the download; the body is read by the server, not here."""

    def upload(self, response: webob.Response, _result: None) -> None:
        response.status_int = 204

    def download(self, response: webob.Response, data: ImageData) -> None:
        request = response.request
        image = data.image
        if data.body is None:
            response.status_int = 204
            return
        response.content_type = "application/octet-stream"
        response.charset = None
        if image.checksum:
            response.headers["Content-MD5"] = image.checksum
        etag = image.os_hash_value or image.checksum
        if etag:
            response.etag = etag
        response.headers["Accept-Ranges"] = "bytes"
        size = image.size
        if size is None:
            response.app_iter = data.body
            return
        # Setting app_iter resets Content-Length, so the length always comes after it.
        response.app_iter = data.body
        response.content_length = size
        response.conditional_response = True
        if LEGACY_RANGE_ENV in request.environ:
            self._legacy_range(request, data, request.environ[LEGACY_RANGE_ENV], size)
        range_header = request.headers.get("Range")
        if range_header:
            self._check_ranges(request, response, data, range_header, size)
        elif data.local_file is not None and "wsgi.file_wrapper" in request.environ:
            response.app_iter = request.environ["wsgi.file_wrapper"](
                data.local_file, READ_CHUNK)
            response.content_length = size

    @staticmethod
    def _legacy_range(request: wsgi.Request, data: ImageData, legacy: LegacyRange | None,
                      size: int) -> None:
        """The deprecated ``Content-Range`` request header, with Glance's 416s; a
        range inside the image becomes the ``Range`` it means."""
        if legacy is None:
            message = "Invalid Content-Range header."
        elif legacy.first >= size and legacy.length is not None:
            message = ("Invalid start position in Content-Range header. Start position "
                       f"MUST be in the inclusive range [0, {size - 1}].")
        elif legacy.last >= size:  # Glance serves a short 206 for it with a length
            message = ("Invalid stop position in Content-Range header. The stop position "
                       f"MUST be in the inclusive range [0, {size - 1}].")
        else:
            request.environ["HTTP_RANGE"] = f"bytes={legacy.first}-{legacy.last}"
            return
        data.body.close()
        raise exception.RangeNotSatisfiable(size, message)

    @staticmethod
    def _check_ranges(request: wsgi.Request, response: webob.Response, data: ImageData,
                      header: str, size: int) -> None:
        """Suffix-0 and several ranges; one range is WebOb's."""
        ranges = parse_ranges(header, size)
        if ranges is None:  # not a valid range set: ignored (and kept from WebOb)
            del request.environ["HTTP_RANGE"]
            return
        if response not in request.if_range:
            return
        if not ranges:
            data.body.close()
            specs = header.partition("=")[2].split(",")
            if len(specs) == 1 and not specs[0].strip().startswith("-") and size > 0:
                raise exception.RangeNotSatisfiable(
                    size, "Invalid start position in Range header. Start position MUST "
                    f"be in the inclusive range [0, {size - 1}].")
            raise exception.RangeNotSatisfiable(size)
        if not data.ranges_supported:  # as Glance: 400, the store reads from the start
            data.body.close()
            raise exception.BadRequest(
                "The store holding this image's data cannot serve part of it; "
                "download the whole image instead.")
        if len(ranges) == 1:
            # WebOb serves it; hand it the resolved form (it mishandles a suffix
            # longer than the image, and spacing/case variants).
            start, stop = ranges[0]
            request.environ["HTTP_RANGE"] = f"bytes={start}-{stop - 1}"
            return
        content_type, length, app_iter = _multipart(data.body, ranges, size,
                                                    response.content_type)
        response.status_int = 206
        response.conditional_response = False
        response.content_type = content_type
        response.app_iter = app_iter
        response.content_length = length


def create_resource() -> wsgi.Resource:
    """The image data resource for the router."""
    return wsgi.Resource(ImageDataController(), RequestDeserializer(), ResponseSerializer())

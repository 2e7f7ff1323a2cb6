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

from typing import Any

import webob
from oslo_config import cfg

from glance import exception
from glance.api import wsgi
from glance.api.byte_ranges import DataBody, multipart, parse_ranges
from glance.api.middleware.range import LEGACY_RANGE_ENV, LegacyRange
from glance.api.v2.images import check_image_id
from glance.services.discovery import DiscoveryService
from glance.services.image_data import Download, ImageDataService

CONF = cfg.CONF
SENDFILE_BLOCK = 1024 * 1024


# -- the resource ------------------------------------------------------------------------

class RequestDeserializer:
    """Checks the upload request and hands the controller a stream of chunks."""

    def __init__(self, discovery: DiscoveryService) -> None:
        self.discovery = discovery

    def upload(self, request: wsgi.Request) -> dict[str, Any]:
        content_type = request.content_type
        if content_type != "application/octet-stream":
            raise exception.UnsupportedMediaType(content_type=content_type or "None")
        backend = self.discovery.upload_store(request.headers.get("X-Image-Meta-Store"))
        chunks = request.iter_body(CONF.upload_chunk_size, limit=CONF.image_size_cap,
                                   too_large=exception.ImageSizeLimitExceeded)
        return {"chunks": chunks, "size": request.content_length, "backend": backend}


class ImageDataController:
    """Upload and download; each action takes plain arguments."""

    def __init__(self, service: ImageDataService) -> None:
        self.service = service

    def upload(self, request: wsgi.Request, image_id: str, chunks, size: int | None,
               backend: str | None) -> None:
        check_image_id(image_id)
        self.service.upload(request.context, image_id, chunks, size, backend)

    def download(self, request: wsgi.Request, image_id: str) -> Download:
        check_image_id(image_id)
        # ?prefer=<store>[,<store>...]: those stores' copies are read first.
        prefer = [name.strip() for name in request.params.get("prefer", "").split(",")
                  if name.strip()]
        whole = "Range" not in request.headers and LEGACY_RANGE_ENV not in request.environ
        return self.service.open_download(request.context, image_id, request.remote_addr,
                                          prefer=prefer, whole=whole)


class ResponseSerializer:
    """Renders the download; the body is read by the server, not here."""

    def upload(self, response: webob.Response, _result: None) -> None:
        response.status_int = 204

    def download(self, response: webob.Response, download: Download) -> None:
        request = response.request
        image = download.image
        if download.read is None:
            response.status_int = 204
            return
        body = DataBody(download.read, download.close)
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
            response.app_iter = body
            return
        # Setting app_iter resets Content-Length, so the length always comes after it.
        response.app_iter = body
        response.content_length = size
        response.conditional_response = True
        if LEGACY_RANGE_ENV in request.environ:
            self._legacy_range(request, body, request.environ[LEGACY_RANGE_ENV], size)
        range_header = request.headers.get("Range")
        if range_header:
            self._check_ranges(request, response, body, download.ranges_supported,
                               range_header, size)
        elif download.local_file is not None and "wsgi.file_wrapper" in request.environ:
            response.app_iter = request.environ["wsgi.file_wrapper"](
                download.local_file, SENDFILE_BLOCK)
            response.content_length = size

    @staticmethod
    def _legacy_range(request: wsgi.Request, body: DataBody, legacy: LegacyRange | None,
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
        body.close()
        raise exception.RangeNotSatisfiable(size, message)

    @staticmethod
    def _check_ranges(request: wsgi.Request, response: webob.Response, body: DataBody,
                      ranges_supported: bool, header: str, size: int) -> None:
        """Suffix-0 and several ranges; one range is WebOb's."""
        ranges = parse_ranges(header, size)
        if ranges is None:  # not a valid range set: ignored (and kept from WebOb)
            del request.environ["HTTP_RANGE"]
            return
        if response not in request.if_range:
            return
        if not ranges:
            body.close()
            specs = header.partition("=")[2].split(",")
            if len(specs) == 1 and not specs[0].strip().startswith("-") and size > 0:
                raise exception.RangeNotSatisfiable(
                    size, "Invalid start position in Range header. Start position MUST "
                    f"be in the inclusive range [0, {size - 1}].")
            raise exception.RangeNotSatisfiable(size)
        if not ranges_supported:  # as Glance: 400, the store reads from the start
            body.close()
            raise exception.BadRequest(
                "The store holding this image's data cannot serve part of it; "
                "download the whole image instead.")
        if len(ranges) == 1:
            # WebOb serves it; hand it the resolved form (it mishandles a suffix
            # longer than the image, and spacing/case variants).
            start, stop = ranges[0]
            request.environ["HTTP_RANGE"] = f"bytes={start}-{stop - 1}"
            return
        content_type, length, app_iter = multipart(body, ranges, size,
                                                    response.content_type)
        response.status_int = 206
        response.conditional_response = False
        response.content_type = content_type
        response.app_iter = app_iter
        response.content_length = length


def create_resource(service: ImageDataService, discovery: DiscoveryService) -> wsgi.Resource:
    """The image data resource for the router."""
    return wsgi.Resource(ImageDataController(service), RequestDeserializer(discovery),
                         ResponseSerializer())

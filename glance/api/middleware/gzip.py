"""OpenStack Glance's ``gzip`` paste filter (``glance.api.middleware.gzip:GzipMiddleware``).

Compresses responses for clients that send ``Accept-Encoding: gzip``; image data
is compressed as it streams (WebOb's lazy encoding). Unlike Glance it leaves
body-less and partial responses (HEAD, 204, 206, 304) alone.
"""

import re

import webob
from oslo_middleware import base

_GZIP = re.compile(r"\bgzip\b")
_UNTOUCHED = (204, 206, 304)


class GzipMiddleware(base.ConfigurableMiddleware):
    """gzip ``Content-Encoding`` when the client accepts it."""

    def process_response(self, response: webob.Response,
                         request: webob.Request | None = None) -> webob.Response:
        if (request is None or request.method == "HEAD"
                or response.status_int in _UNTOUCHED
                or not _GZIP.search(request.headers.get("Accept-Encoding", ""))):
            return response
        checksum = response.headers.get("Content-MD5")
        response.encode_content(lazy=response.content_type == "application/octet-stream")
        if checksum:
            response.headers["Content-MD5"] = checksum
        return response

"""Accepts the deprecated ``Content-Range`` request header on downloads.

Old clients ask for part of an image with ``Content-Range: bytes a-b/*`` (or
``bytes a-b/size``). This filter rewrites that into the standard
``Range: bytes=a-b`` (a ``Range`` sent alongside wins), notes the rewrite in the
environ for the download's stricter end check, and logs one deprecation
warning per process. Any other form of the header on a GET is a 400.
"""

import re

import webob
from oslo_log import log as logging

from glance.api import faults
from glance.api.middleware import base

LOG = logging.getLogger(__name__)
LEGACY_RANGE_ENV = "glance.legacy_content_range"
_CONTENT_RANGE_RE = re.compile(r"^bytes (\d{1,30})-(\d{1,30})/(\d{1,30}|\*)$")


class RangeHeaderFilter(base.RequestFilter):
    """Translates ``Content-Range`` into ``Range`` on GET and HEAD requests."""

    _warned = False

    def process_request(self, request: webob.Request):
        header = request.headers.get("Content-Range")
        if header is None or request.method not in ("GET", "HEAD"):
            return None
        match = _CONTENT_RANGE_RE.match(header.strip())
        valid = match is not None and int(match[1]) <= int(match[2]) and (
            match[3] == "*" or int(match[2]) < int(match[3]))
        if not valid:
            return faults.error_response(
                request, 400, f"Invalid Content-Range header: {header!r}. Use the "
                "Range header instead: 'Range: bytes=first-last'.")
        if not RangeHeaderFilter._warned:
            RangeHeaderFilter._warned = True
            LOG.warning("The Content-Range request header is deprecated for partial "
                        "downloads; clients should send 'Range: bytes=first-last'.")
        del request.headers["Content-Range"]
        if "Range" not in request.headers:
            request.headers["Range"] = f"bytes={match[1]}-{match[2]}"
            request.environ[LEGACY_RANGE_ENV] = True
        return None

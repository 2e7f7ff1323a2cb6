"""Takes the deprecated ``Content-Range`` request header off download requests.

Old clients ask for part of an image with ``Content-Range: bytes a-b/*`` (or
``bytes a-b/size``). On a GET or HEAD this filter removes the header and, unless
a ``Range`` header was sent too (which then wins, as in Glance), leaves what it
said in the environ (:data:`LEGACY_RANGE_ENV`) for the image download to answer:
the range, or None when the header is malformed (a 416 there, as in Glance; other
resources ignore it). One deprecation warning is logged per process.
"""

import re
from typing import NamedTuple

import webob
from oslo_log import log as logging

from glance.api.middleware import base

LOG = logging.getLogger(__name__)
LEGACY_RANGE_ENV = "glance.legacy_content_range"
_CONTENT_RANGE_RE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
# A byte position written with more digits than this lies beyond any 64-bit size.
_MAX_DIGITS = 19
BEYOND_ANY_SIZE = 10 ** _MAX_DIGITS


def byte_position(digits: str) -> int:
    """The value of a byte position, any number of digits long (huge ones become
    :data:`BEYOND_ANY_SIZE`, so that they compare as past the end of any image)."""
    digits = digits.lstrip("0") or "0"
    return BEYOND_ANY_SIZE if len(digits) > _MAX_DIGITS else int(digits)


class LegacyRange(NamedTuple):
    """``Content-Range: bytes first-last/length`` (``length`` None for ``*``)."""

    first: int
    last: int
    length: int | None


def parse_legacy(header: str) -> LegacyRange | None:
    """The range a legacy request header asks for; None when it is malformed."""
    match = _CONTENT_RANGE_RE.match(header.strip())
    if match is None:
        return None
    first, last = byte_position(match[1]), byte_position(match[2])
    length = None if match[3] == "*" else byte_position(match[3])
    if first > last or (length is not None and last >= length):
        return None
    return LegacyRange(first, last, length)


class RangeHeaderFilter(base.RequestFilter):
    """Moves ``Content-Range`` on GET and HEAD requests into the environ."""

    _warned = False

    def process_request(self, request: webob.Request):
        header = request.headers.get("Content-Range")
        if header is None or request.method not in ("GET", "HEAD"):
            return None
        del request.headers["Content-Range"]
        if "Range" in request.headers:
            return None
        if not RangeHeaderFilter._warned:
            RangeHeaderFilter._warned = True
            LOG.warning("The Content-Range request header is deprecated for partial "
                        "downloads; clients should send 'Range: bytes=first-last'.")
        request.environ[LEGACY_RANGE_ENV] = parse_legacy(header)
        return None

"""The ``Content-Range`` filter and the parsing of Glance's legacy download header."""

import pytest
import webob

from glance.api.middleware.range import (
    BEYOND_ANY_SIZE,
    LEGACY_RANGE_ENV,
    LegacyRange,
    RangeHeaderFilter,
    byte_position,
    parse_legacy,
)


def _filtered(header: str | None, method: str = "GET", range_: str | None = None):
    seen = {}

    @webob.dec.wsgify
    def app(request):
        seen.update(range=request.headers.get("Range"),
                    legacy=request.environ.get(LEGACY_RANGE_ENV))
        return webob.Response("ok")

    request = webob.Request.blank("/", method=method)
    if header is not None:
        request.headers["Content-Range"] = header
    if range_ is not None:
        request.headers["Range"] = range_
    response = request.get_response(RangeHeaderFilter(app))
    return response, seen


def test_filter_hands_the_legacy_header_to_the_download():
    response, seen = _filtered("bytes 0-9/*")
    assert response.status_int == 200
    assert seen == {"range": None, "legacy": LegacyRange(0, 9, None)}


def test_filter_keeps_range():
    _, seen = _filtered("bytes 0-9/*", range_="bytes=3-4")
    assert seen == {"range": "bytes=3-4", "legacy": None}
    _, seen = _filtered("bytes */40", range_="bytes=3-4")
    assert seen == {"range": "bytes=3-4", "legacy": None}


@pytest.mark.parametrize("header", ["bytes */40", "bytes 9-0/*", "bytes 0-40/40", "junk",
                                    "", "BYTES 0-9/*"])
def test_filter_marks_malformed(header):
    """Left for the download to answer (416); the filter itself never refuses."""
    response, seen = _filtered(header)
    assert response.status_int == 200
    assert seen == {"range": None, "legacy": None}


def test_filter_ignores_uploads():
    response, seen = _filtered("bytes */40", method="PUT")
    assert response.status_int == 200
    assert seen == {"range": None, "legacy": None}


@pytest.mark.parametrize("header, expected", [
    ("bytes 0-9/*", LegacyRange(0, 9, None)), ("bytes 0-9/10", LegacyRange(0, 9, 10)),
    (" bytes 3-3/* ", LegacyRange(3, 3, None)),
    ("bytes 0-" + "9" * 40 + "/*", LegacyRange(0, BEYOND_ANY_SIZE, None)),
    ("bytes 0-9/9", None), ("bytes 9-0/*", None), ("bytes -5/*", None),
    ("bytes 0-9", None), ("bytes=0-9", None)])
def test_parse_legacy(header, expected):
    assert parse_legacy(header) == expected


def test_byte_position():
    assert byte_position("000") == 0
    assert byte_position("0" * 50 + "12") == 12
    assert byte_position("9" * 19) == 10 ** 19 - 1
    assert byte_position("1" + "0" * 19) == BEYOND_ANY_SIZE

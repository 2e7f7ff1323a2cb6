"""Unit tests: range parsing, the Content-Range filter, quota sizes, virtual size."""

import pytest
import webob

from glance import exception, quota
from glance.api.byte_ranges import parse_ranges
from glance.api.middleware.range import (
    BEYOND_ANY_SIZE,
    LEGACY_RANGE_ENV,
    LegacyRange,
    RangeHeaderFilter,
    byte_position,
    parse_legacy,
)


@pytest.mark.parametrize("header, expected", [
    ("bytes=0-9", [(0, 10)]), ("bytes=5-", [(5, 40)]), ("bytes=-5", [(35, 40)]),
    ("bytes=-100", [(0, 40)]), ("bytes=0-100", [(0, 40)]), ("bytes=40-", []),
    ("bytes=-0", []), ("bytes=0-1, 5-6,,", [(0, 2), (5, 7)]), ("Bytes = 1-1", [(1, 2)]),
    ("bytes=9-0", None), ("items=0-9", None), ("bytes=", None), ("bytes=-", None),
    ("bytes=a-b", None), ("0-9", None), ("bytes=" + ",".join(["0-0"] * 101), None),
    ("bytes=0-" + "9" * 40, [(0, 40)]), ("bytes=-" + "9" * 40, [(0, 40)]),
    ("bytes=" + "9" * 40 + "-", []), ("bytes=0-" + "9" * 6000, [(0, 40)]),
])
def test_parse_ranges(header, expected):
    assert parse_ranges(header, 40) == expected


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


@pytest.mark.parametrize("value, expected", [("0", 0), ("30B", 30), ("2KB", 2048),
                                             ("1 GB", 1024 ** 3), ("5M", 5 * 1024 ** 2)])
def test_parse_size(value, expected):
    assert quota.parse_size(value) == expected


def test_parse_size_rejects_garbage():
    with pytest.raises(ValueError):
        quota.parse_size("lots")


def test_upload_limit_prefers_quota_error():
    limit = quota.UploadLimit(cap=100, quota_remaining=30)
    with pytest.raises(exception.StorageQuotaFull):
        limit.check(200)
    with pytest.raises(exception.ImageSizeLimitExceeded):
        quota.UploadLimit(cap=10, quota_remaining=None).check(11)
    assert limit.maximum == 30


def test_virtual_size_without_a_recognised_header(app):
    """Raw data is its own size; unrecognised data of another format has none."""
    from glance.format_inspection import inspect_stream

    stream = inspect_stream([b"x" * 100], "raw")
    assert sum(len(c) for c in stream) == 100 and stream.virtual_size(100) == 100
    stream = inspect_stream([b"x" * 100], "vmdk", "ova")
    assert sum(len(c) for c in stream) == 100 and stream.virtual_size(100) is None

"""RFC 7233 range sets resolved against an image size (glance.api.byte_ranges)."""

import pytest

from glance.api.byte_ranges import parse_ranges


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

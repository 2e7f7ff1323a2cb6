"""glance.store_swift: Swift Range headers and the size handed to the swift driver."""

from types import SimpleNamespace

import pytest

from glance import store_swift


@pytest.mark.parametrize(("offset", "length", "header"), [
    (0, None, "bytes=0-"), (10, None, "bytes=10-"), (10, 90, "bytes=10-99"),
    (0, 1, "bytes=0-0")])
def test_range_header(offset, length, header):
    assert store_swift.range_header(offset, length) == header


@pytest.mark.parametrize(("offset", "length"), [(-1, None), (0, 0), (5, -3)])
def test_range_header_refuses_empty_or_negative(offset, length):
    with pytest.raises(ValueError):
        store_swift.range_header(offset, length)


def test_add_size_is_unknown_when_the_driver_would_segment():
    driver = SimpleNamespace(large_object_size=1000)
    assert store_swift.add_size(driver, 999) == 999
    assert store_swift.add_size(driver, 1000) == 0
    assert store_swift.add_size(driver, None) == 0
    assert store_swift.add_size(driver, 0) == 0

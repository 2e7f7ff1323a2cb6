"""Virtual size of data whose format header is not recognised."""

from glance.format_inspection import inspect_stream


def test_virtual_size_without_a_recognised_header(app):
    """Raw data is its own size; unrecognised data of another format has none."""
    stream = inspect_stream([b"x" * 100], "raw")
    assert sum(len(c) for c in stream) == 100 and stream.virtual_size(100) == 100
    stream = inspect_stream([b"x" * 100], "vmdk", "ova")
    assert sum(len(c) for c in stream) == 100 and stream.virtual_size(100) is None

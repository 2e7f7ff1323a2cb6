"""Virtual size of data whose format header is not recognised; vmdk create-types."""

import pytest
from oslo_utils.imageutils import format_inspector as fi

from glance import exception
from glance.format_inspection import check_vmdk_create_type, inspect_stream, vmdk_create_type
from tests.functional import disk_images


def test_virtual_size_without_a_recognised_header(app):
    """Raw data is its own size; unrecognised data of another format has none."""
    stream = inspect_stream([b"x" * 100], "raw")
    assert sum(len(c) for c in stream) == 100 and stream.virtual_size(100) == 100
    stream = inspect_stream([b"x" * 100], "vmdk", "ova")
    assert sum(len(c) for c in stream) == 100 and stream.virtual_size(100) is None


def _vmdk_inspector(name: str):
    wrapper = fi.InspectWrapper(iter([disk_images.load(name)]))
    for _chunk in wrapper:
        pass
    wrapper.close()
    return wrapper.formats[0]


def test_vmdk_create_type_is_read_from_the_descriptor():
    assert vmdk_create_type(_vmdk_inspector("sparse.vmdk")) == "monolithicsparse"
    assert vmdk_create_type(_vmdk_inspector("stream.vmdk")) == "streamoptimized"
    assert vmdk_create_type(_vmdk_inspector("flat.vmdk")) == "monolithicflat"


def test_vmdk_allowed_types(app, override):
    check_vmdk_create_type("streamOptimized")
    check_vmdk_create_type("monolithicsparse")  # compared without case
    for refused in ("monolithicFlat", "twoGbMaxExtentSparse", None, ""):
        with pytest.raises(exception.InvalidImageFormat):
            check_vmdk_create_type(refused)
    override("vmdk_allowed_types", ["monolithicFlat"], group="image_format")
    check_vmdk_create_type("monolithicflat")
    with pytest.raises(exception.InvalidImageFormat, match="create-type"):
        check_vmdk_create_type("streamOptimized")
    override("vmdk_allowed_types", [], group="image_format")
    with pytest.raises(exception.InvalidImageFormat, match="vmdk_allowed_types is empty"):
        check_vmdk_create_type("streamOptimized")

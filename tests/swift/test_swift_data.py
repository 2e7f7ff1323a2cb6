"""The shared store data suite with Swift (single-tenant, Keystone v3 login) as the
default store; ``store_server`` and ``store_objects`` come from conftest.py."""

from tests.stores.suite import StoreDataSuite


class TestSwiftData(StoreDataSuite):
    """Every suite test on Swift: segments (1 MiB) and manifests included."""


def test_store_objects_sees_segments(store_objects, glance_swift):
    """The suite's 'nothing left behind' checks are only as good as store_objects."""
    glance_swift.put_container("stray")
    glance_swift.put_object("stray", "object-00001", b"x")
    try:
        assert "stray/object-00001" in store_objects()
    finally:
        glance_swift.delete_object("stray", "object-00001")
        glance_swift.delete_container("stray")
    assert "stray/object-00001" not in store_objects()

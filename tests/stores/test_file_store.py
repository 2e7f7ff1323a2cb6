"""The store data suite against the file store: the reference every store tier meets."""

import pytest

from tests.stores.suite import StoreDataSuite, multi_store_sections


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("primary-store")


@pytest.fixture(scope="module")
def store_server(start_server, store_dir, tmp_path_factory):
    sections = multi_store_sections("primary", "file",
                                    {"filesystem_store_datadir": str(store_dir)},
                                    tmp_path_factory.mktemp("file-suite"))
    return start_server(sections, name="file-suite")


@pytest.fixture(scope="module")
def store_objects(store_dir):
    return lambda: {path.name for path in store_dir.iterdir()}


class TestFileStore(StoreDataSuite):
    """Every suite test on the file store."""


def test_suite_sees_objects_the_store_holds(store_server, store_objects, store_dir):
    """The suite's 'nothing left behind' checks are only as good as store_objects."""
    (store_dir / "stray-object").write_bytes(b"x")
    try:
        assert "stray-object" in store_objects()
    finally:
        (store_dir / "stray-object").unlink()
    assert "stray-object" not in store_objects()

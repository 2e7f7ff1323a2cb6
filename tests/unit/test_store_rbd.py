"""glance.store_rbd's pure parts: regrouping a stream into RBD-sized pieces, the
rbd:// URL it writes and parses, and how failed asynchronous requests are reported.
The data path itself runs against a real Ceph in tests/ceph/test_rbd_store.py."""

import pytest
from glance_store import exceptions as store_exc

from glance import exception, store_rbd


class _Driver:
    """The two attributes of glance_store's rbd driver that parsing reads."""

    conf = None
    pool = "default-pool"


@pytest.mark.parametrize("sizes", [[], [5], [3, 3, 3], [1] * 10, [8], [17, 1], [4, 0, 4]])
def test_pieces_regroup_without_losing_or_reordering(sizes):
    data = bytes(range(sum(sizes))) if sizes else b""
    chunks, start = [], 0
    for size in sizes:
        chunks.append(data[start:start + size])
        start += size
    pieces = list(store_rbd._pieces(chunks, 4))
    assert b"".join(pieces) == data
    assert all(len(piece) == 4 for piece in pieces[:-1])
    assert all(pieces) and (not pieces or 0 < len(pieces[-1]) <= 4)


def test_url_is_what_nova_and_cinder_parse():
    url = store_rbd.url_of("fsid-1", "images", "3f2a")
    assert url == "rbd://fsid-1/images/3f2a/snap"
    target = store_rbd.parse(_Driver(), url)
    assert (target.pool, target.image, target.snapshot) == ("images", "3f2a", "snap")


def test_url_parts_are_quoted():
    url = store_rbd.url_of("f", "my/pool", "a b")
    assert url == "rbd://f/my%2Fpool/a%20b/snap"
    assert store_rbd.parse(_Driver(), url).pool == "my/pool"


def test_old_single_name_url_uses_the_configured_pool():
    target = store_rbd.parse(_Driver(), "rbd://just-an-image")
    assert (target.pool, target.image, target.snapshot) == ("default-pool",
                                                           "just-an-image", None)


@pytest.mark.parametrize("url", ["rbd://a/b", "rbd://a/b/c/d/e", "rbd://a//c/d",
                                 "file:///etc/passwd"])
def test_bad_urls_are_refused(url):
    with pytest.raises(store_exc.BadStoreUri):
        store_rbd.parse(_Driver(), url)


class _Completion:
    def __init__(self, value: int) -> None:
        self.value = value

    def get_return_value(self) -> int:
        return self.value


def test_pipeline_reports_a_full_pool_as_storage_full():
    pipeline = store_rbd._Pipeline(depth=2)
    pipeline.slots.acquire()
    pipeline.done(_Completion(-28))
    with pytest.raises(exception.StorageFull):
        pipeline.drain()


def test_pipeline_reports_other_errors_as_store_failures_and_keeps_the_first():
    pipeline = store_rbd._Pipeline(depth=2)
    for value in (-5, -28):
        pipeline.slots.acquire()
        pipeline.done(_Completion(value))
    with pytest.raises(exception.StoreFailure, match="Input/output error"):
        pipeline.check()
    ok = store_rbd._Pipeline(depth=2)
    ok.slots.acquire()
    ok.done(_Completion(0))
    ok.drain()  # nothing failed: no error

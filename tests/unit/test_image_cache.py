"""The image cache's files and bookkeeping on a real directory: one writer per image,
verified atomic commits, the queue order, LRU pruning, stalled-file clean-up, a Glance
cache directory adopted as it is, and the download tee."""

import hashlib
import os
import sqlite3
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from oslo_config import cfg

import glance.conf  # noqa: F401 - registers the cache options
from glance import image_cache
from glance.image_cache.cache import ImageCache

CONF = cfg.CONF


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _put(cache: ImageCache, data: bytes, image_id: str | None = None) -> str:
    image_id = image_id or str(uuid.uuid4())
    writer = cache.writer(image_id)
    assert writer is not None
    writer.write(data)
    assert writer.commit(len(data), _md5(data))
    return image_id


@pytest.fixture
def cache(tmp_path) -> ImageCache:
    return ImageCache(str(tmp_path / "cache"))


def test_commit_publishes_verified_data_atomically(cache):
    image_id = str(uuid.uuid4())
    writer = cache.writer(image_id)
    writer.write(b"abc")
    assert not cache.is_cached(image_id)  # nothing visible before the commit
    assert Path(cache.incomplete_path(image_id)).exists()
    assert writer.commit(3, _md5(b"abc"))
    assert Path(cache.path(image_id)).read_bytes() == b"abc"
    assert not Path(cache.incomplete_path(image_id)).exists()
    [entry] = cache.cached()
    assert (entry.image_id, entry.size, entry.hits) == (image_id, 3, 0)


@pytest.mark.parametrize(("size", "checksum"), [(4, None), (3, _md5(b"abd"))])
def test_data_that_does_not_match_the_image_is_dropped(cache, size, checksum):
    image_id = str(uuid.uuid4())
    writer = cache.writer(image_id)
    writer.write(b"abc")
    assert not writer.commit(size, checksum)
    assert not cache.is_cached(image_id) and cache.cached() == []
    assert os.listdir(os.path.join(cache.directory, "incomplete")) == []
    assert Path(cache.invalid_path(image_id)).read_bytes() == b"abc"  # for inspection
    assert cache.clean(3600) == 1  # the clean-up removes invalid data at once
    assert os.listdir(os.path.join(cache.directory, "invalid")) == []


def test_one_writer_per_image(cache):
    image_id = str(uuid.uuid4())
    first = cache.writer(image_id)
    assert cache.writer(image_id) is None  # locked by the first
    first.abort()
    second = cache.writer(image_id)
    assert second is not None
    second.write(b"x")
    assert second.commit(1, None)
    assert cache.writer(image_id) is None  # cached now


def test_removal_during_a_write_wins(cache):
    image_id = str(uuid.uuid4())
    writer = cache.writer(image_id)
    writer.write(b"data")
    cache.delete(image_id)  # e.g. the image was deleted meanwhile
    assert not writer.commit(4, None)
    assert not cache.is_cached(image_id) and cache.cached() == []


def test_open_counts_hits_and_refuses_a_wrong_size(cache):
    image_id = _put(cache, b"hello")
    with cache.open(image_id, 5) as handle:
        assert handle.read() == b"hello"
    assert cache.open(image_id, 6) is None
    assert cache.open(str(uuid.uuid4()), 5) is None
    assert cache.open("../../etc/passwd", None) is None
    assert cache.cached()[0].hits == 1


def test_queue_order_and_dequeue(cache):
    ids = [str(uuid.uuid4()) for _ in range(3)]
    for image_id in ids:
        assert cache.queue(image_id)
        time.sleep(0.01)
    assert not cache.queue(ids[0])  # queued already
    assert cache.queued() == ids and cache.is_queued(ids[1])
    assert cache.dequeue([ids[1]]) == 1 and cache.queued() == [ids[0], ids[2]]
    cached = _put(cache, b"x", ids[0])
    assert cache.queued() == [ids[2]]  # a commit takes the image off the queue
    assert not cache.queue(cached)  # cached already
    assert cache.dequeue() == 1 and cache.queued() == []


def test_prune_removes_least_recently_used_first(cache):
    old, used, new = (_put(cache, bytes(100)) for _ in range(3))
    time.sleep(0.01)
    cache.open(used, 100).close()  # a hit makes it recent
    assert cache.prune(250) == (1, 100)
    assert {e.image_id for e in cache.cached()} == {used, new}
    assert not cache.is_cached(old)
    assert cache.prune(250) == (0, 0)
    assert cache.prune(0) == (2, 200) and cache.cached() == []


def test_clean_removes_stalled_files_but_not_those_being_written(cache):
    stalled = str(uuid.uuid4())
    Path(cache.incomplete_path(stalled)).write_bytes(b"half")
    busy = str(uuid.uuid4())
    writer = cache.writer(busy)
    writer.write(b"in progress")
    assert cache.clean(3600) == 0  # not old enough yet
    past = time.time() - 7200
    for image_id in (stalled, busy):
        os.utime(cache.incomplete_path(image_id), (past, past))
    assert cache.clean(3600) == 1
    assert not Path(cache.incomplete_path(stalled)).exists()
    assert writer.commit(11, None)


def test_clean_brings_the_bookkeeping_in_line_with_the_files(cache):
    kept = _put(cache, b"kept")
    lost = _put(cache, b"lost")
    os.unlink(cache.path(lost))
    orphan = str(uuid.uuid4())  # a file without a row (Glance's xattr layout)
    Path(cache.path(orphan)).write_bytes(b"orphan data")
    Path(cache.directory, "not-an-image").write_bytes(b"ignored")
    cache.clean(3600)
    sizes = {e.image_id: e.size for e in cache.cached()}
    assert sizes == {kept: 4, orphan: 11}


def test_a_glance_cache_directory_is_adopted(tmp_path):
    directory = tmp_path / "glance-cache"
    (directory / "queue").mkdir(parents=True)
    image_id, queued = str(uuid.uuid4()), str(uuid.uuid4())
    (directory / image_id).write_bytes(b"cached by glance")
    (directory / "queue" / queued).touch()
    with sqlite3.connect(directory / "cache.db") as conn:
        conn.execute("CREATE TABLE cached_images (image_id TEXT PRIMARY KEY, "
                     "last_accessed REAL DEFAULT 0.0, last_modified REAL DEFAULT 0.0, "
                     "size INTEGER DEFAULT 0, hits INTEGER DEFAULT 0, checksum TEXT)")
        conn.execute("INSERT INTO cached_images VALUES (?, 10.0, 5.0, 16, 7, NULL)",
                     (image_id,))
    conn.close()
    cache = ImageCache(str(directory))
    [entry] = cache.cached()
    assert (entry.image_id, entry.size, entry.hits, entry.last_modified) == (
        image_id, 16, 7, 5.0)
    assert cache.queued() == [queued]
    with cache.open(image_id, 16) as handle:
        assert handle.read() == b"cached by glance"


def test_delete_all_leaves_the_queue(cache):
    first, second = _put(cache, b"1"), _put(cache, b"22")
    waiting = str(uuid.uuid4())
    cache.queue(waiting)
    assert cache.delete_all() == 2
    assert not cache.is_cached(first) and not cache.is_cached(second)
    assert cache.cached() == [] and cache.queued() == [waiting]


# -- the download tee --------------------------------------------------------------------

@pytest.fixture
def enabled(tmp_path):
    CONF.set_override("image_cache_dir", str(tmp_path / "tee-cache"))
    yield image_cache.get()
    CONF.clear_override("image_cache_dir")


def _image(data: bytes) -> SimpleNamespace:
    return SimpleNamespace(id=str(uuid.uuid4()), size=len(data), checksum=_md5(data))


def _reader(data: bytes):
    def read(offset: int, length: int | None):
        end = len(data) if length is None else offset + length
        for start in range(offset, end, 4):
            yield data[start:min(start + 4, end)]
    return read


def test_a_whole_read_fills_the_cache(enabled):
    data = b"0123456789abcdef"
    image = _image(data)
    read = image_cache.tee(image, _reader(data))
    assert b"".join(read(4, 4)) == b"4567"  # a range passes through
    assert not enabled.is_cached(image.id)
    assert b"".join(read(0, None)) == data
    assert enabled.is_cached(image.id)
    with image_cache.open_cached(image) as handle:
        assert handle.read() == data


def test_an_abandoned_read_caches_nothing(enabled):
    data = b"0123456789abcdef"
    image = _image(data)
    chunks = image_cache.tee(image, _reader(data))(0, None)
    assert next(chunks) == b"0123"
    chunks.close()  # the client went away
    assert not enabled.is_cached(image.id)
    assert os.listdir(os.path.join(enabled.directory, "incomplete")) == []


def test_tee_and_forget_are_no_ops_without_a_cache():
    assert not CONF.image_cache_dir
    read = _reader(b"data")
    image = _image(b"data")
    assert image_cache.tee(image, read) is read
    assert image_cache.open_cached(image) is None
    image_cache.forget(image.id)  # nothing to do, no error


def test_forget_removes_cached_and_queued(enabled):
    data = b"forget me"
    image_id = _put(enabled, data)
    queued = str(uuid.uuid4())
    enabled.queue(queued)
    image_cache.forget(image_id)
    image_cache.forget(queued)
    assert not enabled.is_cached(image_id) and enabled.queued() == []

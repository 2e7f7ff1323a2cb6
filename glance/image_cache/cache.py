"""The files of the image cache: cached data, the queue and data being written.

Layout under ``image_cache_dir`` (Glance's sqlite-driver layout)::

    <image_id>             a cached image's data (complete and verified)
    incomplete/<image_id>  data being written; renamed into place when complete
    invalid/<image_id>     data that failed verification (removed by the clean-up)
    queue/<image_id>       an empty file per queued image (oldest first)
    cache.db               the bookkeeping (``image_cache_sqlite_db``)

Several worker processes share one directory. A writer holds an exclusive
``flock`` on its incomplete file, so one image is fetched by one writer at a
time, and a crashed writer's lock goes away with its process.
"""

import fcntl
import hashlib
import os
import time
import uuid
from typing import BinaryIO

from oslo_log import log as logging

from glance.image_cache.index import CachedImage, CacheIndex

LOG = logging.getLogger(__name__)


_ID_CHARS = frozenset("0123456789abcdefABCDEF-")


def _image_file_name(image_id: str) -> str:
    """``image_id`` as a file name; ValueError for anything but a plain UUID."""
    uuid.UUID(image_id)
    if not _ID_CHARS.issuperset(image_id):
        raise ValueError(f"not a plain UUID: {image_id!r}")
    return image_id


def _unlink(path: str) -> bool:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


class CacheWriter:
    """An incomplete cache file being written by this process."""

    def __init__(self, cache: "ImageCache", image_id: str, handle: BinaryIO) -> None:
        self.cache = cache
        self.image_id = image_id
        self.path = cache.incomplete_path(image_id)
        self._handle: BinaryIO | None = handle
        self._md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0

    def write(self, chunk: bytes) -> None:
        """Append one chunk."""
        assert self._handle is not None
        self._handle.write(chunk)
        self._md5.update(chunk)
        self.size += len(chunk)

    def _still_ours(self) -> bool:
        """Whether the incomplete path is still the file we hold (not removed meanwhile)."""
        assert self._handle is not None
        try:
            return os.stat(self.path).st_ino == os.fstat(self._handle.fileno()).st_ino
        except FileNotFoundError:
            return False

    def commit(self, size: int | None, checksum: str | None) -> bool:
        """Verify size and md5, then publish the file. False when the image was removed
        meanwhile, or when the data does not match (then it goes to ``invalid/``)."""
        if self._handle is None:
            return False
        try:
            self._handle.flush()
            if size is not None and self.size != size or \
                    checksum and self._md5.hexdigest() != checksum:
                LOG.error("Not caching image %s: the data read (%d bytes, md5 %s) does not "
                          "match the image (%s bytes, md5 %s); kept in invalid/",
                          self.image_id, self.size, self._md5.hexdigest(), size, checksum)
                if self._still_ours():
                    os.rename(self.path, self.cache.invalid_path(self.image_id))
                return False
            if not self._still_ours():
                LOG.info("Image %s was removed from the cache while being cached",
                         self.image_id)
                self._close()
                return False
            os.rename(self.path, self.cache.path(self.image_id))
            self.cache.index.add(self.image_id, self.size, self._md5.hexdigest())
        except BaseException:
            self.abort()
            raise
        finally:
            self._close()
        if not os.path.exists(self.cache.path(self.image_id)):  # removed meanwhile
            self.cache.index.remove([self.image_id])
            return False
        self.cache.dequeue([self.image_id])
        LOG.info("Image %s cached (%d bytes)", self.image_id, self.size)
        return True

    def abort(self) -> None:
        """Drop what was written."""
        if self._handle is None:
            return
        if self._still_ours():
            _unlink(self.path)
        self._close()

    def _close(self) -> None:
        if self._handle is not None:
            self._handle.close()  # releases the lock
            self._handle = None


class ImageCache:
    """One node's image cache in ``directory``."""

    def __init__(self, directory: str, db_name: str = "cache.db", index=None) -> None:
        """``index``: the bookkeeping (default: the SQLite file ``db_name`` in
        ``directory``; the centralized_db driver passes its shared index)."""
        self.directory = os.path.abspath(directory)
        for sub in ("", "incomplete", "invalid", "queue"):
            os.makedirs(os.path.join(self.directory, sub), exist_ok=True)
        self.index = index or CacheIndex(os.path.join(self.directory, db_name))

    # -- paths --------------------------------------------------------------------------

    def path(self, image_id: str) -> str:
        """Where a cached image's data lives."""
        return os.path.join(self.directory, _image_file_name(image_id))

    def incomplete_path(self, image_id: str) -> str:
        """Where an image's data is written before it is complete."""
        return os.path.join(self.directory, "incomplete", _image_file_name(image_id))

    def invalid_path(self, image_id: str) -> str:
        """Where data that failed verification is put aside."""
        return os.path.join(self.directory, "invalid", _image_file_name(image_id))

    def _queue_path(self, image_id: str) -> str:
        return os.path.join(self.directory, "queue", _image_file_name(image_id))

    # -- reading ------------------------------------------------------------------------

    def is_cached(self, image_id: str) -> bool:
        """Whether complete data of the image is here."""
        try:
            return os.path.isfile(self.path(image_id))
        except ValueError:
            return False

    def open(self, image_id: str, size: int | None) -> BinaryIO | None:
        """The cached data opened for reading (counted as a hit), or None.

        A file whose length differs from ``size`` is never served.
        """
        try:
            handle = open(self.path(image_id), "rb")  # noqa: SIM115 - the caller closes
        except (FileNotFoundError, ValueError):
            return None
        if size is not None and os.fstat(handle.fileno()).st_size != size:
            handle.close()
            LOG.warning("Cached data of image %s has the wrong size; not served", image_id)
            return None
        self.index.hit(image_id)
        return handle

    def cached(self) -> list[CachedImage]:
        """What the cache holds, least recently used first."""
        return self.index.all()

    # -- the queue ----------------------------------------------------------------------

    def queue(self, image_id: str) -> bool:
        """Queue an image for the prefetcher; False when cached or queued already."""
        if self.is_cached(image_id):
            return False
        try:
            with open(self._queue_path(image_id), "x"):
                return True
        except FileExistsError:
            return False

    def is_queued(self, image_id: str) -> bool:
        """Whether the image waits for the prefetcher."""
        try:
            return os.path.exists(self._queue_path(image_id))
        except ValueError:
            return False

    def queued(self) -> list[str]:
        """Queued image ids, in the order the prefetcher takes them."""
        entries = []
        with os.scandir(os.path.join(self.directory, "queue")) as scan:
            for entry in scan:
                try:
                    entries.append((entry.stat().st_mtime_ns, entry.name))
                except FileNotFoundError:
                    continue
        return [name for _, name in sorted(entries)]

    def dequeue(self, image_ids: list[str] | None = None) -> int:
        """Take images (all when None) off the queue; returns how many were queued."""
        if image_ids is None:
            image_ids = self.queued()
        return sum(_unlink(self._queue_path(image_id)) for image_id in image_ids)

    # -- writing ------------------------------------------------------------------------

    def writer(self, image_id: str) -> CacheWriter | None:
        """A writer for the image's data; None when cached or another writer has it."""
        if self.is_cached(image_id):
            return None
        path = self.incomplete_path(image_id)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        handle = os.fdopen(fd, "wb")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        writer = CacheWriter(self, image_id, handle)
        if not writer._still_ours() or self.is_cached(image_id):
            writer.abort()  # another writer finished (or the image was removed) meanwhile
            return None
        os.ftruncate(fd, 0)
        return writer

    # -- removal ------------------------------------------------------------------------

    def delete(self, image_id: str) -> bool:
        """Remove an image's cached data, stopping a writer of it; True if it was cached."""
        found = bool(self.index.remove([image_id]))
        found = _unlink(self.path(image_id)) or found
        _unlink(self.incomplete_path(image_id))
        return found

    def delete_all(self) -> int:
        """Empty the cache (the queue stays); returns how many images were cached."""
        removed = set(self.index.remove())
        for name in self._data_files():
            _unlink(os.path.join(self.directory, name))
            removed.add(name)
        return len(removed)

    def prune(self, max_size: int) -> tuple[int, int]:
        """Remove least recently used images until at most ``max_size`` bytes remain;
        returns (images removed, bytes freed)."""
        total = self.index.total_size()
        removed = freed = 0
        for entry in self.index.all():
            if total <= max_size:
                break
            self.delete(entry.image_id)
            total -= entry.size
            removed += 1
            freed += entry.size
        if removed:
            LOG.info("Pruned %d image(s), %d bytes, from the cache (limit %d bytes)",
                     removed, freed, max_size)
        return removed, freed

    def clean(self, stall_time: int) -> int:
        """Remove invalid files, and incomplete files idle for ``stall_time`` seconds that
        nobody writes; bring the bookkeeping in line with the files. Returns the files
        removed."""
        invalid = os.path.join(self.directory, "invalid")
        removed = sum(_unlink(os.path.join(invalid, name)) for name in os.listdir(invalid))
        deadline = time.time() - stall_time
        directory = os.path.join(self.directory, "incomplete")
        for name in os.listdir(directory):
            path = os.path.join(directory, name)
            try:
                with open(path, "rb") as handle:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    if os.fstat(handle.fileno()).st_mtime < deadline:
                        removed += _unlink(path)
            except (BlockingIOError, FileNotFoundError):
                continue  # being written, or gone already
        self._reconcile()
        return removed

    def _data_files(self) -> list[str]:
        names = []
        for name in os.listdir(self.directory):
            try:
                if _image_file_name(name) and \
                        os.path.isfile(os.path.join(self.directory, name)):
                    names.append(name)
            except ValueError:
                continue
        return names

    def _reconcile(self) -> None:
        files = set(self._data_files())
        rows = {entry.image_id for entry in self.index.all()}
        if rows - files:
            self.index.remove(sorted(rows - files))
        for image_id in files - rows:  # a Glance xattr-layout file, or a crash mid-commit
            size = os.path.getsize(self.path(image_id))
            self.index.add(image_id, size, None)

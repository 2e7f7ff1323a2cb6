"""The local image cache, on when ``[DEFAULT] image_cache_dir`` is set.

What the rest of glance calls:

* :func:`open_cached` — the download path serves a cached image from here;
* :func:`tee` — a full download from a remote store also fills the cache;
* :func:`forget` — deleting an image removes its cached data;
* :func:`cache_downloads` — whether downloads use the cache (the paste pipeline says);
* :func:`get`, :func:`wake`, :func:`start` — the cache API and the prefetcher.

Details of the files: :mod:`glance.image_cache.cache`; bookkeeping:
:mod:`glance.image_cache.index` (a SQLite file per node) or, with the
``centralized_db`` driver and ``worker_self_reference_url`` set,
:mod:`glance.image_cache.central_index` (Glance's shared tables); the
periodic job: :mod:`glance.image_cache.prefetcher`.
"""

import sqlite3
import threading
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from oslo_config import cfg
from oslo_db import exception as db_exc
from oslo_log import log as logging

from glance.image_cache import central_index, prefetcher
from glance.image_cache.cache import ImageCache

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

Reader = Callable[[int, int | None], Iterator[bytes]]

_caches: dict[tuple[str, str, str], ImageCache] = {}
_lock = threading.Lock()
# Whether downloads are served from and fill the cache (when there is one). With
# glance's own paste file image_cache_dir alone decides; a pipeline in OpenStack
# Glance's style turns this off unless it has Glance's ``cache`` filter.
_downloads = {"on": True}


def enabled() -> bool:
    """Whether this node has an image cache."""
    return bool(CONF.image_cache_dir)


def cache_downloads(on: bool) -> None:
    """Let downloads use the cache (set while the paste application is built)."""
    _downloads["on"] = on


def _for_downloads() -> bool:
    return bool(CONF.image_cache_dir) and _downloads["on"]


def node_url() -> str | None:
    """The URL the ``centralized_db`` driver keys this node's rows by (None: that
    driver is not in use, or ``worker_self_reference_url`` is unset and the node
    keeps its index in its SQLite file)."""
    if CONF.image_cache_driver.lower() != "centralized_db":
        return None
    return CONF.worker_self_reference_url or None


def centralized() -> bool:
    """Whether the cache index is shared by the nodes (``GET /v2/cache/nodes``)."""
    return CONF.image_cache_driver.lower() == "centralized_db"


def get() -> ImageCache:
    """The configured cache (call only when :func:`enabled`)."""
    url = node_url()
    key = (CONF.image_cache_dir, CONF.image_cache_sqlite_db, url or "")
    with _lock:
        if key not in _caches:
            index = central_index.CentralIndex(url) if url else None
            _caches[key] = ImageCache(key[0], key[1], index=index)
        return _caches[key]


def nodes_caching(image_id: str) -> list[str]:
    """The URLs of the nodes whose cache holds ``image_id`` (centralized_db)."""
    return central_index.nodes_caching(image_id)


def start() -> None:
    """Start this process's prefetcher when the cache is on (idempotent)."""
    if enabled():
        prefetcher.ensure_started(get())


def wake() -> None:
    """Make this process's prefetcher run now."""
    if enabled():
        prefetcher.ensure_started(get()).wake()


def open_cached(image: Any) -> BinaryIO | None:
    """The cached data of ``image`` (a domain Image) opened for reading, or None."""
    if not _for_downloads():
        return None
    return get().open(image.id, image.size)


def tee(image: Any, read: Reader) -> Reader:
    """``read`` that also writes a whole-image read into the cache.

    Ranges are passed through; so is everything when the cache is off, the size
    is unknown or another writer is caching the image already. A failing cache
    write never fails the download: caching just stops.
    """
    if not _for_downloads() or image.size is None:
        return read

    def reader(offset: int, length: int | None) -> Iterator[bytes]:
        if offset or length is not None:
            return read(offset, length)
        return _teeing(image, read)

    return reader


def _teeing(image: Any, read: Reader) -> Iterator[bytes]:
    chunks = read(0, None)
    cache = get()
    try:
        writer = cache.writer(image.id)
    except OSError as err:
        LOG.warning("Not caching image %s: %s", image.id, err)
        writer = None
    if writer is None:
        yield from chunks
        return
    complete = False
    try:
        for chunk in chunks:
            if writer is not None:
                try:
                    writer.write(chunk)
                except OSError as err:
                    LOG.warning("Stopped caching image %s: %s", image.id, err)
                    writer.abort()
                    writer = None
            yield chunk
        complete = True
    finally:
        if writer is not None:
            _finish(cache, writer, image, complete)


def _finish(cache: ImageCache, writer, image: Any, complete: bool) -> None:
    if not complete:
        writer.abort()
        return
    try:
        if writer.commit(image.size, image.checksum):
            cache.prune(CONF.image_cache_max_size)
    except OSError as err:
        LOG.warning("Could not cache image %s: %s", image.id, err)


def forget(image_id: str) -> None:
    """Remove an image from this node's cache and queue (image deleted)."""
    if not CONF.image_cache_dir:
        return
    cache = get()
    try:
        cache.delete(image_id)
        cache.dequeue([image_id])
    except (OSError, sqlite3.Error, db_exc.DBError) as err:
        LOG.warning("Could not remove image %s from the cache: %s", image_id, err)

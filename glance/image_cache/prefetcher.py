"""The prefetcher: fetches queued images from their store into the cache.

Every glance-api worker runs :class:`PeriodicJob`: every
``cache_prefetcher_interval`` seconds (or at once when woken by a queue
request) it removes invalid and stalled files, drops cached images that were
deleted, fetches the queued images and prunes the cache to
``image_cache_max_size``. Workers share the queue; the
writer lock makes sure one image is fetched once.
"""

import os
import threading

from oslo_config import cfg
from oslo_log import log as logging

from glance import exception
from glance import store as image_store
from glance.context import RequestContext
from glance.db.sqlalchemy import api as db_api
from glance.domain import image as domain
from glance.image_cache.cache import ImageCache

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


def _admin_context() -> RequestContext:
    return RequestContext(is_admin=True, roles=["admin"], overwrite=False)


class Prefetcher:
    """Fetches queued images into ``cache``."""

    def __init__(self, cache: ImageCache, db=db_api, store=image_store) -> None:
        self.cache = cache
        self.db = db
        self.store = store

    def run(self) -> int:
        """Fetch every queued image once; returns how many were cached."""
        return sum(self.fetch(image_id) for image_id in self.cache.queued())

    def forget_deleted(self) -> int:
        """Remove cached images that were deleted (through another node, say)."""
        context = _admin_context()
        gone = [entry.image_id for entry in self.cache.cached()
                if self._image(context, entry.image_id) is None]
        for image_id in gone:
            self.cache.delete(image_id)
        if gone:
            LOG.info("Removed %d deleted image(s) from the cache", len(gone))
        return len(gone)

    def _image(self, context, image_id: str) -> domain.Image | None:
        try:
            return domain.Image.from_record(self.db.image_get(context, image_id))
        except (exception.ImageNotFound, ValueError):
            return None

    def fetch(self, image_id: str) -> bool:
        """Cache one queued image; it leaves the queue unless the store failed."""
        if self.cache.is_cached(image_id):
            self.cache.dequeue([image_id])
            return False
        context = _admin_context()
        image = self._image(context, image_id)
        locations = [loc for loc in (image.locations if image else [])
                     if loc.get("status") == "active"]
        if image is None or image.status != "active" or not locations:
            LOG.warning("Image %s is not an active image with data; taken off the cache "
                        "queue", image_id)
            self.cache.dequeue([image_id])
            return False
        writer = self.cache.writer(image_id)
        if writer is None:
            return False  # cached meanwhile, or another worker is fetching it
        try:
            for chunk in self.store.get(locations[0], context=context):
                writer.write(chunk)
        except Exception:  # noqa: BLE001 - keep it queued, try again next run
            writer.abort()
            LOG.exception("Could not fetch image %s into the cache; it stays queued",
                          image_id)
            return False
        cached = writer.commit(image.size, image.checksum)
        self.cache.dequeue([image_id])
        return cached


class PeriodicJob(threading.Thread):
    """Clean, prefetch and prune every ``interval`` seconds, or when woken."""

    def __init__(self, cache: ImageCache, interval: float) -> None:
        super().__init__(name="image-cache-prefetcher", daemon=True)
        self.cache = cache
        self.interval = interval
        self.prefetcher = Prefetcher(cache)
        self._woken = threading.Event()
        self._halted = threading.Event()

    def wake(self) -> None:
        """Run now instead of at the next interval."""
        self._woken.set()

    def stop(self) -> None:
        """End the loop (tests)."""
        self._halted.set()
        self._woken.set()

    def run_once(self) -> None:
        """One round: clean, forget deleted images, prefetch, prune."""
        self.cache.clean(CONF.image_cache_stall_time)
        self.prefetcher.forget_deleted()
        self.prefetcher.run()
        self.cache.prune(CONF.image_cache_max_size)

    def run(self) -> None:
        while not self._halted.is_set():
            self._woken.clear()
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - the job must outlive any one failure
                LOG.exception("The image cache job failed; it runs again in %s s",
                              self.interval)
            self._woken.wait(self.interval)


_job: PeriodicJob | None = None
_job_pid: int | None = None
_job_lock = threading.Lock()


def ensure_started(cache: ImageCache) -> PeriodicJob:
    """This process's job over ``cache`` (started on first call after each fork)."""
    global _job, _job_pid  # noqa: PLW0603 - process-wide on purpose: one job per process
    with _job_lock:
        if _job is None or _job_pid != os.getpid() or _job.cache is not cache:
            if _job is not None and _job_pid == os.getpid():
                _job.stop()
            _job = PeriodicJob(cache, CONF.cache_prefetcher_interval)
            _job_pid = os.getpid()
            _job.start()
            LOG.info("Image cache in %s: prefetching every %s s", cache.directory,
                     CONF.cache_prefetcher_interval)
        return _job


def stop() -> None:
    """Stop this process's job, if any (tests)."""
    global _job  # noqa: PLW0603 - process-wide on purpose: one job per process
    with _job_lock:
        if _job is not None and _job_pid == os.getpid():
            _job.stop()
        _job = None

"""Scrubbing: remove the data that delayed delete kept, and restore images deleted by mistake.

With ``[DEFAULT] delayed_delete`` on, deleting an image leaves it ``pending_delete``
with its data in the stores. A scrubber run removes, from every store, the data
of each location due (``scrub_time`` after the delete), then retires the location
and, when none is left, the image (``deleted``). Locations are claimed one at a
time in the database (see glance/db/sqlalchemy/scrub_api.py), so several
scrubbers may run at once and a scrubber may die at any point: every location
is removed by exactly one scrubber, at least once, and a store error leaves it
``pending_delete`` for the next run.
"""

import datetime
import enum
import threading
from collections import Counter
from concurrent import futures
from urllib.parse import urlsplit

from oslo_log import log as logging
from oslo_utils import timeutils

from glance import context as glance_context
from glance import store as image_store
from glance.db.sqlalchemy import scrub_api

LOG = logging.getLogger(__name__)
# The shortest pause between two daemon runs (wakeup_time = 0 would spin on the database).
MIN_WAKEUP_S = 1


class Outcome(enum.Enum):
    """What became of one location."""

    REMOVED = "removed"  # its data was deleted from the store
    GONE = "gone"  # the store no longer had the data: retired all the same
    KEPT = "kept"  # data not ours to delete (http, or still used elsewhere): retired
    SKIPPED = "skipped"  # another scrubber has it, or it is no longer due
    FAILED = "failed"  # store or database error: still pending_delete
    STOPPED = "stopped"  # not attempted: the scrubber is stopping


RETIRED = (Outcome.REMOVED, Outcome.GONE, Outcome.KEPT)


class Scrubber:
    """One scrubber: ``run()`` makes a pass, ``restore()`` undoes a delete."""

    def __init__(self, scrub_time: int, pool_size: int, db=scrub_api, store=image_store,
                 stop: threading.Event | None = None) -> None:
        self.scrub_time = scrub_time
        self.pool_size = pool_size
        self.db = db
        self.store = store
        self.stop = stop or threading.Event()
        self.context = glance_context.RequestContext(is_admin=True, roles=["admin"],
                                                     overwrite=False)

    # -- a run ----------------------------------------------------------------------------

    def cutoff(self) -> datetime.datetime:
        """Data deleted at or before this instant is due."""
        return timeutils.utcnow() - datetime.timedelta(seconds=self.scrub_time)

    def run(self) -> Counter:
        """Scrub every due location; returns how many locations met each Outcome
        (plus ``images``: images retired). Database errors while listing raise."""
        cutoff = self.cutoff()
        by_image: dict[str, list[scrub_api.Job]] = {}
        for job in self.db.due_jobs(cutoff):
            by_image.setdefault(job.image_id, []).append(job)
        LOG.info("Scrubber run: %d location(s) of %d image(s) due",
                 sum(map(len, by_image.values())), len(by_image))
        totals: Counter = Counter()
        with futures.ThreadPoolExecutor(max_workers=self.pool_size,
                                        thread_name_prefix="scrub") as pool:
            for counts in pool.map(lambda item: self._scrub_image(*item, cutoff),
                                   by_image.items()):
                totals.update(counts)
        if not self.stop.is_set():
            totals["images"] += self._finish_leftovers(cutoff)
        LOG.info("Scrubber run done: %d image(s) and %d location(s) scrubbed, %d "
                 "location(s) left pending_delete after errors",
                 totals["images"], sum(totals[o] for o in RETIRED), totals[Outcome.FAILED])
        return totals

    def _scrub_image(self, image_id: str, jobs: list[scrub_api.Job],
                     cutoff: datetime.datetime) -> Counter:
        LOG.info("Scrubbing image %s from %d location(s)", image_id, len(jobs))
        counts = Counter(self._scrub_location(job, cutoff) for job in jobs)
        if counts[Outcome.FAILED]:
            LOG.warning("Image %s stays pending_delete: %d of its location(s) could not be "
                        "scrubbed; the next run tries again", image_id,
                        counts[Outcome.FAILED])
        elif not counts[Outcome.STOPPED] and self._finish(image_id, cutoff):
            counts["images"] += 1
            LOG.info("Image %s has been scrubbed: its status is now deleted", image_id)
        return counts

    def _finish(self, image_id: str, cutoff: datetime.datetime) -> bool:
        try:
            return self.db.finish_image(image_id, cutoff)
        except Exception as err:  # noqa: BLE001 - the next run's leftover pass retries
            LOG.error("Cannot mark image %s deleted (the next run will): %s", image_id, err)
            return False

    def _finish_leftovers(self, cutoff: datetime.datetime) -> int:
        """Retire due images with no pending location left (a crash, a race)."""
        finished = 0
        for image_id in self.db.unfinished_images(cutoff):
            if self._finish(image_id, cutoff):
                finished += 1
                LOG.info("Image %s has no data left: its status is now deleted", image_id)
        return finished

    def _scrub_location(self, job: scrub_api.Job, cutoff: datetime.datetime) -> Outcome:
        """Claim, remove and retire one location."""
        if self.stop.is_set():
            return Outcome.STOPPED
        try:
            with self.db.claim(job, cutoff) as claim:
                if claim is None:
                    LOG.debug("Location %s of image %s: not due any more, or another "
                              "scrubber has it", job.location_id, job.image_id)
                    return Outcome.SKIPPED
                outcome = self._remove(claim.job)
                claim.removed = True
        except Exception as err:  # noqa: BLE001 - logged; the location stays pending
            LOG.error("Unable to scrub image %s from location %s (store %s); it stays "
                      "pending_delete for the next run: %s", job.image_id,
                      job.location_id, job.metadata.get("store", "-"), err)
            return Outcome.FAILED
        if outcome is Outcome.GONE:
            LOG.info("Image %s: the data of location %s was not found in the store; "
                     "location marked deleted", job.image_id, job.location_id)
        elif outcome is Outcome.KEPT:
            LOG.info("Image %s: the data of location %s is not deleted (an http "
                     "location, or another image uses it); location marked deleted",
                     job.image_id, job.location_id)
        else:
            LOG.info("Image %s is scrubbed from location %s", job.image_id,
                     job.location_id)
        return outcome

    def _remove(self, job: scrub_api.Job) -> Outcome:
        if urlsplit(job.url).scheme in ("http", "https") or job.shared:
            return Outcome.KEPT
        removed = self.store.remove(job.location, context=self.context)
        return Outcome.REMOVED if removed else Outcome.GONE

    # -- daemon ---------------------------------------------------------------------------

    def run_forever(self, wakeup_time: int) -> None:
        """Run every ``wakeup_time`` seconds until ``stop`` is set."""
        LOG.info("Starting the scrubber daemon: wakeup_time=%s scrub_pool_size=%s "
                 "scrub_time=%s", wakeup_time, self.pool_size, self.scrub_time)
        while not self.stop.is_set():
            try:
                self.run()
            except Exception as err:  # noqa: BLE001 - the daemon tries again later
                LOG.error("Scrubber run failed: %s", err)
            self.stop.wait(max(wakeup_time, MIN_WAKEUP_S))
        LOG.info("Scrubber daemon stopped")

    # -- restore --------------------------------------------------------------------------

    def restore(self, image_id: str) -> int:
        """Put a ``pending_delete`` image back to ``active``; returns its location count."""
        count = self.db.restore(image_id)
        LOG.info("Image %s restored to active with %d location(s)", image_id, count)
        return count

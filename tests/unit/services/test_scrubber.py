"""The scrubber service's decisions, over an in-memory claim table and a fake store."""

import threading
from contextlib import contextmanager

import pytest

from glance import exception
from glance.db.sqlalchemy import scrub_api
from glance.services import scrubber
from glance.services.scrubber import Outcome


class FakeDB:
    """scrub_api's interface over a dict: location id -> (job, status)."""

    def __init__(self, jobs: list[scrub_api.Job]) -> None:
        self.jobs = {job.location_id: job for job in jobs}
        self.status = {job.location_id: "pending_delete" for job in jobs}
        self.images: dict[str, str] = {job.image_id: "pending_delete" for job in jobs}
        self.taken: set[int] = set()  # held by "another scrubber"
        self.lock = threading.Lock()

    def due_jobs(self, _cutoff):
        return [job for job in self.jobs.values()
                if self.status[job.location_id] == "pending_delete"]

    @contextmanager
    def claim(self, job, _cutoff):
        if job.location_id in self.taken or self.status[job.location_id] != "pending_delete":
            yield None
            return
        current = scrub_api.Claim(job)
        yield current  # an exception here leaves the status as it was
        if current.removed:
            self.status[job.location_id] = "deleted"

    def finish_image(self, image_id, _cutoff):
        with self.lock:
            if any(self.status[j.location_id] == "pending_delete"
                   for j in self.jobs.values() if j.image_id == image_id):
                return False
            if self.images[image_id] != "pending_delete":
                return False
            self.images[image_id] = "deleted"
            return True

    def unfinished_images(self, _cutoff):
        return []


class FakeStore:
    def __init__(self, fail: set[str] = frozenset(), gone: set[str] = frozenset()) -> None:
        self.fail, self.gone = fail, gone
        self.removed: list[str] = []

    def remove(self, location, context=None):
        assert context is not None and context.is_admin
        url = location["url"]
        if url in self.fail:
            raise exception.StoreFailure(reason="disk on fire")
        if url in self.gone:
            return False
        self.removed.append(url)
        return True


def _job(location_id: int, image_id: str = "i1", url: str | None = None,
         shared: bool = False) -> scrub_api.Job:
    return scrub_api.Job(location_id, image_id, url or f"file:///d/{location_id}",
                         {"store": "fs"}, shared)


def _scrubber(db, store, pool_size: int = 1) -> scrubber.Scrubber:
    return scrubber.Scrubber(scrub_time=0, pool_size=pool_size, db=db, store=store)


def test_every_location_of_every_image_is_removed_then_the_image_retired():
    db = FakeDB([_job(1), _job(2), _job(3, "i2")])
    store = FakeStore()
    totals = _scrubber(db, store).run()
    assert totals[Outcome.REMOVED] == 3 and totals["images"] == 2
    assert db.images == {"i1": "deleted", "i2": "deleted"}
    assert sorted(store.removed) == ["file:///d/1", "file:///d/2", "file:///d/3"]


def test_a_store_error_keeps_the_location_and_the_image(caplog):
    db = FakeDB([_job(1), _job(2)])
    totals = _scrubber(db, FakeStore(fail={"file:///d/1"})).run()
    assert totals[Outcome.FAILED] == 1 and totals[Outcome.REMOVED] == 1
    assert db.status == {1: "pending_delete", 2: "deleted"}
    assert db.images["i1"] == "pending_delete"
    assert "disk on fire" in caplog.text and "stays pending_delete" in caplog.text


def test_missing_data_http_and_shared_data_retire_without_removing():
    db = FakeDB([_job(1), _job(2, url="http://example.com/x"), _job(3, shared=True)])
    store = FakeStore(gone={"file:///d/1"})
    totals = _scrubber(db, store).run()
    assert (totals[Outcome.GONE], totals[Outcome.KEPT]) == (1, 2)
    assert store.removed == [] and db.images["i1"] == "deleted"


def test_a_location_another_scrubber_holds_is_skipped_and_the_image_left_to_it():
    db = FakeDB([_job(1), _job(2)])
    db.taken.add(2)
    totals = _scrubber(db, FakeStore()).run()
    assert totals[Outcome.SKIPPED] == 1 and totals["images"] == 0
    assert db.images["i1"] == "pending_delete"


def test_a_stopping_scrubber_starts_no_new_location():
    db = FakeDB([_job(1), _job(2)])
    worker = _scrubber(db, FakeStore())
    worker.stop.set()
    assert worker.run()[Outcome.STOPPED] == 2
    assert db.status == {1: "pending_delete", 2: "pending_delete"}


def test_scrub_pool_size_images_are_scrubbed_at_once():
    db = FakeDB([_job(n, f"i{n}") for n in range(8)])
    barrier = threading.Barrier(4, timeout=10)

    class Parallel(FakeStore):
        def remove(self, location, context=None):
            barrier.wait()  # breaks (BrokenBarrierError) unless 4 run together
            return super().remove(location, context)

    totals = _scrubber(db, Parallel(), pool_size=4).run()
    assert totals[Outcome.REMOVED] == 8


def test_the_daemon_runs_until_stopped():
    runs = []
    worker = _scrubber(FakeDB([]), FakeStore())

    def run():
        runs.append(1)
        if len(runs) == 2:
            worker.stop.set()
        if len(runs) == 1:
            raise RuntimeError("database away")

    worker.run = run
    worker.run_forever(wakeup_time=0)
    assert len(runs) == 2  # the failed first run did not end the daemon


def test_restore_reports_the_database_answer():
    class DB(FakeDB):
        def restore(self, image_id):
            raise exception.NotRestorable(image_id=image_id, status="active")

    with pytest.raises(exception.NotRestorable, match="it is active"):
        _scrubber(DB([]), FakeStore()).restore("i1")

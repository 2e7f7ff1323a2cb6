"""The scrubber's claims on SQLite, MariaDB and PostgreSQL.

Rows are written the way a delete with ``delayed_delete`` leaves them (ours and
OpenStack Glance's are the same shape), data files into a file store, then the
real ``glance-scrubber`` runs: several at once, killed with SIGKILL mid-run and run
again; and ``scrub_api`` is driven directly to hold a claim while another
scrubber or a restore comes along.
"""

import datetime
import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from oslo_config import cfg
from oslo_utils import timeutils

import glance.conf  # noqa: F401 - registers [database]
from glance import exception
from glance.db import migration
from glance.db.sqlalchemy import engine as glance_engine
from glance.db.sqlalchemy import scrub_api
from glance.db.sqlalchemy.models import (
    Image,
    ImageLocation,
    ImageMember,
    ImageProperty,
    ImageTag,
)
from tests.functional import scrub_helpers

CONF = cfg.CONF
IMAGES, LOCATIONS = Image.__table__, ImageLocation.__table__
HOUR = datetime.timedelta(hours=1)
DATA = b"pending data " * 100


class Store:
    """A migrated database, a file store directory and a scrubber config for both."""

    def __init__(self, url: str, engine: sa.Engine, tmp_path: Path) -> None:
        self.url, self.engine = url, engine
        self.datadir = tmp_path / "images"
        self.datadir.mkdir()
        self.tmp_path = tmp_path
        self.config = scrub_helpers.write_ini(tmp_path / "glance-scrubber.conf", {
            "DEFAULT": {"state_path": tmp_path / "state"},
            "database": {"connection": url},
            "glance_store": {"filesystem_store_datadir": self.datadir}})
        migration.db_sync(engine=engine)

    def image(self, *, status: str = "pending_delete", deleted: bool = True,
              copies: int = 1, location_status: str = "pending_delete",
              location_deleted: bool = True, ago: datetime.timedelta = HOUR,
              urls: list[str] | None = None) -> tuple[str, list[int]]:
        """An image row with ``copies`` file locations (data written); returns its id
        and its location ids."""
        image_id = str(uuid.uuid4())
        when = timeutils.utcnow() - ago
        if urls is None:
            urls = []
            for copy in range(copies):
                path = self.datadir / f"{image_id}.{copy}"
                path.write_bytes(DATA)
                urls.append(f"file://{path}")
        with self.engine.begin() as connection:
            connection.execute(IMAGES.insert().values(
                id=image_id, status=status, deleted=deleted, visibility="shared",
                deleted_at=when if deleted else None, created_at=when - HOUR,
                size=len(DATA), min_disk=0, min_ram=0, protected=False, os_hidden=False))
            ids = [connection.execute(LOCATIONS.insert().values(
                image_id=image_id, value=url, metadata={}, status=location_status,
                deleted=location_deleted, created_at=when - HOUR,
                deleted_at=when if location_deleted else None,
                updated_at=when)).inserted_primary_key[0] for url in urls]
        return image_id, ids

    def many(self, count: int, copies: int = 1) -> dict[int, Path]:
        """``count`` pending images; returns location id -> data file."""
        files: dict[int, Path] = {}
        for _ in range(count):
            image_id, ids = self.image(copies=copies)
            for copy, location_id in enumerate(ids):
                files[location_id] = self.datadir / f"{image_id}.{copy}"
        return files

    def status(self, image_id: str) -> str:
        with self.engine.connect() as connection:
            return connection.execute(sa.select(IMAGES.c.status).where(
                IMAGES.c.id == image_id)).scalar_one()

    def locations(self) -> dict[int, tuple[str, bool]]:
        """Every location: id -> (status, deleted)."""
        with self.engine.connect() as connection:
            return {row.id: (row.status, bool(row.deleted)) for row in connection.execute(
                sa.select(LOCATIONS.c.id, LOCATIONS.c.status, LOCATIONS.c.deleted))}

    def image_statuses(self) -> dict[str, str]:
        with self.engine.connect() as connection:
            return dict(connection.execute(sa.select(IMAGES.c.id, IMAGES.c.status)).all())

    def scrub(self, *args: str):
        result = scrub_helpers.scrub(self.config, args=args)
        assert "Traceback" not in result.stderr, result.stderr
        return result

    def start(self, name: str, pool_size: int = 4):
        settings = scrub_helpers.write_ini(self.tmp_path / f"{name}.conf", {
            "DEFAULT": {"scrub_pool_size": pool_size}})
        log = self.tmp_path / f"{name}.log"
        return scrub_helpers.start(self.config, settings, log=log), log


@pytest.fixture
def store(db_url, db_engine, tmp_path) -> Store:
    return Store(db_url, db_engine, tmp_path)


@pytest.fixture
def facade(store):
    """The real scrub_api (global engine facade) on the test database."""
    CONF.set_override("connection", store.url, group="database")
    glance_engine.reset()
    yield scrub_api
    glance_engine.reset()
    CONF.clear_override("connection", group="database")


# -- several scrubbers, and kill -9 --------------------------------------------------------

def _scrub_concurrently(store, round_: int) -> int:
    """Three scrubbers on 300 pending locations: each removed exactly once; returns
    how many scrubbers removed some."""
    files = store.many(150, copies=2)
    scrubbers = [store.start(f"scrubber-{round_}-{n}") for n in range(3)]
    for process, log in scrubbers:
        assert process.wait(timeout=300) == 0, log.read_text()[-3000:]
    logs = [log.read_text() for _process, log in scrubbers]
    assert not any("Traceback" in text for text in logs)
    done = [location for text in logs for location in scrub_helpers.scrubbed_locations(text)]
    assert sorted(done) == sorted(files)  # every location once, none twice
    assert not [text for text in logs if scrub_helpers.not_found_locations(text)]
    assert not any(path.exists() for path in files.values())
    return sum(1 for text in logs if scrub_helpers.scrubbed_locations(text))


def test_concurrent_scrubbers_remove_each_location_exactly_once(store):
    # On a loaded machine the first scrubber may finish before the others start:
    # the check is only worth something once they overlapped, so try up to 3 rounds.
    working = [_scrub_concurrently(store, 0)]
    while working[-1] < 2 and len(working) < 3:
        working.append(_scrub_concurrently(store, len(working)))
    assert working[-1] >= 2, f"the scrubbers did not overlap in {len(working)} rounds"
    assert set(store.locations().values()) == {("deleted", True)}
    assert set(store.image_statuses().values()) == {"deleted"}


def _kill_mid_run(store: Store, files: dict[int, Path]) -> tuple[bool, str]:
    """Start a scrubber and SIGKILL it once some but not all data is gone."""
    process, log = store.start(f"killed-{uuid.uuid4().hex[:6]}")
    names = {path.name for path in files.values()}
    killed = False
    while process.poll() is None:
        left = len(names.intersection(os.listdir(store.datadir)))
        if 0 < left < len(names):
            os.killpg(process.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.001)
    process.wait(timeout=60)
    return killed, log.read_text()


def test_kill_9_mid_run_loses_nothing_and_repeats_nothing(store):
    for _attempt in range(3):
        files = store.many(200)
        killed, first_log = _kill_mid_run(store, files)
        if killed:
            break
        store.scrub()  # it finished first: try again with a new batch
    else:
        pytest.fail("the scrubber always finished before it could be killed")
    locations = store.locations()
    in_flight = set()
    for location_id, path in files.items():
        status, deleted = locations[location_id]
        if status == "deleted":
            assert deleted and not path.exists()  # retired only once the data is gone
        else:
            assert status == "pending_delete"
            if not path.exists():
                in_flight.add(location_id)  # removed, but the retiring was rolled back
    assert len(in_flight) <= 4  # at most one per thread of scrub_pool_size

    second = store.scrub()
    assert second.returncode == 0, second.stderr
    assert not any(path.exists() for path in files.values())
    after = store.locations()
    assert all(after[location_id] == ("deleted", True) for location_id in files)
    assert set(store.image_statuses().values()) == {"deleted"}
    again = scrub_helpers.not_found_locations(second.stderr)
    assert set(again) == in_flight
    attempts = (scrub_helpers.scrubbed_locations(first_log) + again
                + scrub_helpers.scrubbed_locations(second.stderr))
    assert len(attempts) == len(set(attempts))  # nothing processed twice


# -- what is and is not scrubbed -----------------------------------------------------------

def test_rows_only_the_scrubber_may_touch(store):
    due, due_ids = store.image(copies=2)
    recent, recent_ids = store.image(ago=datetime.timedelta(0))
    # Glance's --restore: the image active again, its location left deleted/pending.
    glance_restored, restored_ids = store.image(status="active", deleted=False)
    # A location removed from a live image, as our API writes it (deleted = false).
    live, live_ids = store.image(status="active", deleted=False, location_deleted=False)
    # Data shared with a live image: its row goes, its data stays.
    shared_path = store.datadir / "shared"
    shared_path.write_bytes(DATA)
    store.image(status="active", deleted=False, location_status="active",
                location_deleted=False, urls=[f"file://{shared_path}"])
    sharing, _ = store.image(urls=[f"file://{shared_path}"])
    web, _ = store.image(urls=["http://127.0.0.1:9/never-contacted"])
    # Its location already retired (a crash just before the image was).
    unfinished, _ = store.image(location_status="deleted",
                                urls=[f"file://{store.datadir}/gone"])

    settings = scrub_helpers.write_ini(store.tmp_path / "time.conf",
                                       {"DEFAULT": {"scrub_time": 600}})
    result = scrub_helpers.scrub(store.config, settings)
    assert result.returncode == 0, result.stderr
    statuses = store.image_statuses()
    locations = store.locations()
    assert statuses[due] == "deleted"
    assert all(locations[i] == ("deleted", True) for i in due_ids)
    assert not any(store.datadir.glob(f"{due}.*"))
    assert statuses[recent] == "pending_delete"
    assert locations[recent_ids[0]] == ("pending_delete", True)
    assert statuses[glance_restored] == "active"
    assert locations[restored_ids[0]] == ("pending_delete", True)
    assert (store.datadir / f"{glance_restored}.0").exists()
    assert statuses[live] == "active"
    assert locations[live_ids[0]] == ("deleted", True)
    assert not (store.datadir / f"{live}.0").exists()
    assert statuses[sharing] == "deleted" and shared_path.read_bytes() == DATA
    assert statuses[web] == "deleted" and statuses[unfinished] == "deleted"


# -- claims held ---------------------------------------------------------------------------

def _job(facade, location_id: int) -> scrub_api.Job:
    (job,) = [job for job in facade.due_jobs(timeutils.utcnow())
              if job.location_id == location_id]
    return job


def _hold(facade, job: scrub_api.Job):
    """A thread that claims ``job`` and keeps it until ``release`` is set."""
    held, release = threading.Event(), threading.Event()

    def work():
        with facade.claim(job, timeutils.utcnow()) as claim:
            assert claim is not None
            held.set()
            release.wait(60)
            claim.removed = True

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    assert held.wait(30)
    return thread, release


def _in_thread(function) -> tuple[threading.Thread, dict]:
    result: dict = {}

    def work():
        try:
            result["value"] = function()
        except Exception as err:  # noqa: BLE001 - handed to the test
            result["error"] = err

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread, result


def _claim_once(facade, job):
    with facade.claim(job, timeutils.utcnow()) as claim:
        return claim


def test_a_held_claim_is_skipped_by_another_scrubber(store, facade, backend):
    _image_id, (location_id,) = store.image()
    job = _job(facade, location_id)
    holder, release = _hold(facade, job)
    other, result = _in_thread(lambda: _claim_once(facade, job))
    if backend == "sqlite":  # no row locks: the second waits its turn, then finds it done
        other.join(1)
        assert other.is_alive()
        release.set()
    other.join(60)
    assert result == {"value": None}  # never handed to a second scrubber
    release.set()
    holder.join(60)
    assert store.locations()[location_id] == ("deleted", True)


def test_restore_waits_for_a_location_being_scrubbed(store, facade):
    image_id, (first, second) = store.image(copies=2)
    holder, release = _hold(facade, _job(facade, first))
    restorer, result = _in_thread(lambda: facade.restore(image_id))
    restorer.join(1)
    assert restorer.is_alive()  # waits for the location in progress
    release.set()
    holder.join(60)
    restorer.join(60)
    assert result == {"value": 1}
    assert store.status(image_id) == "active"
    assert store.locations()[first] == ("deleted", True)
    assert store.locations()[second] == ("active", False)


def test_restore_brings_back_what_the_delete_removed(store, facade):
    image_id, (location_id,) = store.image()
    with store.engine.connect() as connection:
        deleted_at = connection.execute(
            sa.select(IMAGES.c.deleted_at).where(IMAGES.c.id == image_id)).scalar_one()
    earlier = deleted_at - datetime.timedelta(days=1)
    with store.engine.begin() as connection:
        for model, values in ((ImageProperty, {"name": "foo", "value": "bar"}),
                              (ImageTag, {"value": "t1"}),
                              (ImageMember, {"member": "p2", "can_share": False,
                                             "status": "accepted"})):
            connection.execute(model.__table__.insert().values(
                image_id=image_id, deleted=True, deleted_at=deleted_at,
                created_at=earlier, **values))
        # Removed by a PATCH a day before the delete: stays removed.
        connection.execute(ImageProperty.__table__.insert().values(
            image_id=image_id, name="old", value="x", deleted=True, deleted_at=earlier,
            created_at=earlier))

    assert facade.restore(image_id) == 1
    with store.engine.connect() as connection:
        image = connection.execute(sa.select(IMAGES).where(IMAGES.c.id == image_id)).one()
        live = {(model.__tablename__, row[0]) for model, column in (
            (ImageProperty, ImageProperty.__table__.c.name),
            (ImageTag, ImageTag.__table__.c.value),
            (ImageMember, ImageMember.__table__.c.member))
            for row in connection.execute(sa.select(column).where(
                model.__table__.c.image_id == image_id,
                model.__table__.c.deleted.is_(False)))}
    assert (image.status, bool(image.deleted), image.deleted_at) == ("active", False, None)
    assert live == {("image_properties", "foo"), ("image_tags", "t1"),
                    ("image_members", "p2")}
    assert store.locations()[location_id] == ("active", False)
    with pytest.raises(exception.NotRestorable):
        facade.restore(image_id)

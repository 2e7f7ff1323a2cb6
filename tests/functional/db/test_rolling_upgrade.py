"""Rolling upgrade across change 0004 on each database.

The previous release keeps serving reads and writes (in a thread, with its
own engine and its own idea of the schema: ``image_locations.meta_data``)
while ``expand`` and ``migrate`` run; then the new release serves (the real
repository code, glance.db.sqlalchemy.api) next to the old one; then the old
one stops and ``contract`` runs. No call may fail and nothing may be lost.
"""

import json
import threading
import uuid

import pytest
import sqlalchemy as sa
from oslo_config import cfg

import glance.conf  # noqa: F401 - registers [database]
from glance import context as glance_context
from glance.db import migration
from glance.db.sqlalchemy import api as db_api
from glance.db.sqlalchemy import engine as glance_engine
from glance.db.sqlalchemy import models

CONF = cfg.CONF
BEFORE_CHANGE = "0003_expand_purged_image_ids"

OLD_IMAGES = sa.table("images", *(sa.column(n) for n in (
    "id", "status", "visibility", "min_disk", "min_ram", "protected", "os_hidden",
    "created_at", "deleted", "owner", "name")))
OLD_LOCATIONS = sa.table("image_locations", sa.column("id", sa.Integer),
                         sa.column("image_id"), sa.column("value"), sa.column("status"),
                         sa.column("created_at"), sa.column("deleted"),
                         sa.column("meta_data", sa.Text))


def _is_deadlock(err: sa.exc.DBAPIError) -> bool:
    """MariaDB 1213 (also raised for metadata-lock cycles with DDL) or PostgreSQL 40P01."""
    orig = err.orig
    return (getattr(orig, "args", (None,))[0] == 1213
            or getattr(orig, "pgcode", None) == "40P01")


class PreviousRelease(threading.Thread):
    """The code before change 0004: writes and reads location metadata as JSON text."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        kwargs = {}
        if url.startswith("sqlite"):
            kwargs = {"connect_args": {"timeout": 60, "isolation_level": None}}
        self.engine = sa.create_engine(url, **kwargs)
        if url.startswith("sqlite"):  # like our engine: writers lock up front
            sa.event.listen(self.engine, "begin",
                            lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.written: dict[int, dict] = {}  # location id -> metadata last written
        self.calls = 0
        self.deadlocks_retried = 0

    def transaction(self, work):
        """Run ``work(connection)`` in a transaction, retried on deadlock as oslo.db does."""
        for _attempt in range(10):
            try:
                with self.engine.begin() as connection:
                    return work(connection)
            except sa.exc.DBAPIError as err:
                if not _is_deadlock(err):
                    raise
                self.deadlocks_retried += 1
        raise RuntimeError("still deadlocked after 10 attempts")

    def write(self, n: int) -> None:
        image_id = str(uuid.uuid4())
        meta = {"store": "fs", "n": n}

        def insert(connection) -> int:
            now = sa.func.now()
            connection.execute(sa.insert(OLD_IMAGES).values(
                id=image_id, status="active", visibility="public", min_disk=0, min_ram=0,
                protected=False, os_hidden=False, created_at=now, deleted=False,
                owner="p1", name=f"old-{n}"))
            connection.execute(sa.insert(OLD_LOCATIONS).values(
                image_id=image_id, value=f"file:///old/{n}", status="active",
                created_at=now, deleted=False, meta_data=json.dumps(meta)))
            return connection.execute(sa.select(sa.func.max(OLD_LOCATIONS.c.id))
                                      .where(OLD_LOCATIONS.c.image_id == image_id)
                                      ).scalar_one()

        self.written[self.transaction(insert)] = meta
        if n % 3 == 0:  # the old release also edits metadata it wrote earlier
            edit = next(iter(self.written))
            edited = {**self.written[edit], "edited": n}
            self.transaction(lambda connection: connection.execute(
                sa.update(OLD_LOCATIONS).where(OLD_LOCATIONS.c.id == edit)
                .values(meta_data=json.dumps(edited))))
            self.written[edit] = edited

    def read_all(self) -> dict[int, dict]:
        rows = self.transaction(lambda connection: connection.execute(
            sa.select(OLD_LOCATIONS.c.id, OLD_LOCATIONS.c.meta_data)).all())
        return {row.id: json.loads(row.meta_data) for row in rows if row.meta_data}

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            try:
                self.write(n)
                seen = self.read_all()
                for location_id, meta in self.written.items():
                    assert seen.get(location_id) == meta, (location_id, seen.get(location_id))
                self.calls += 1
            except BaseException as err:  # noqa: BLE001 - reported by the test
                self.errors.append(err)
                return
            n += 1

    def finish(self) -> None:
        self.stop.set()
        self.join(timeout=120)
        self.engine.dispose()
        assert not self.errors, f"the previous release failed: {self.errors[0]!r}"


@pytest.fixture
def new_release(db_url):
    """Point the real repository code (global facade) at the test database."""
    CONF.set_override("connection", db_url, group="database")
    glance_engine.reset()
    yield db_api
    glance_engine.reset()
    CONF.clear_override("connection", group="database")


def _new_location(image_id: str, url: str, meta: dict) -> int:
    with glance_engine.writer_session() as session:
        row = models.ImageLocation(image_id=image_id, value=url, status="active",
                                   location_metadata=meta)
        session.add(row)
        session.flush()
        return row.id


def _wait_for_calls(old: PreviousRelease, at_least: int) -> None:
    target = old.calls + at_least
    while old.calls < target and old.is_alive():
        old.stop.wait(0.01)


def test_old_code_serves_through_expand_and_migrate(db_engine, db_url, new_release):
    with db_engine.begin() as connection:
        from alembic import command
        command.upgrade(migration.alembic_config(connection), BEFORE_CHANGE)
    admin = glance_context.RequestContext(is_admin=True)

    old = PreviousRelease(db_url)
    old.start()
    _wait_for_calls(old, 5)
    migration.expand(db_engine)
    _wait_for_calls(old, 5)
    migration.migrate(db_engine, batch_size=2)
    _wait_for_calls(old, 5)
    assert migration.check(db_engine)[0] == migration.CheckResult.CONTRACT_PENDING

    # New release serves next to the old one: each reads what the other wrote.
    image = new_release.image_create(
        {"id": str(uuid.uuid4()), "status": "active", "visibility": "public",
         "owner": "p1", "name": "new"}, {}, [])
    new_id = _new_location(image["id"], "file:///new/1", {"store": "fs", "by": "new"})
    _wait_for_calls(old, 3)
    assert old.read_all()[new_id] == {"store": "fs", "by": "new"}
    old.finish()
    assert old.calls >= 15

    def check_everything() -> None:
        for location_id, meta in {**old.written, new_id: {"store": "fs", "by": "new"}}.items():
            with glance_engine.reader_session() as session:
                row = session.get(models.ImageLocation, location_id)
                assert row.location_metadata == meta
                shown = new_release.image_get(admin, row.image_id)
            assert [loc["metadata"] for loc in shown["locations"]] == [meta]

    check_everything()
    assert migration.contract(db_engine) == ["0004_contract_location_metadata",
                                            "0007_contract_glance_schema",
                                            "0008_contract_list_indexes"]
    glance_engine.reset()
    check_everything()
    assert migration.check(db_engine)[0] == migration.CheckResult.UP_TO_DATE

"""Writers on SQLite queue on the write lock (glance/db/sqlalchemy/write_lock.py):
a real glance-api with 4 workers takes many concurrent writes without a failure or
a lost write; a process that holds the lock and hangs makes writes fail cleanly
(503) within the busy timeout while reads go on; MariaDB and PostgreSQL writers
take no such lock."""

import fcntl
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa
from oslo_config import cfg
from oslo_db import exception as db_exc

import glance.conf  # noqa: F401 - registers [database]
from glance.db.sqlalchemy import engine, write_lock
from tests import helpers
from tests.functional.db.conftest import create_database

CONF = cfg.CONF
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
CLIENTS = 12
ROUNDS = 8


def _writes(url: str, headers: dict, client: int) -> list[tuple[str, str]]:
    """One client's writes: create, patch (checked at once by a GET on a new
    connection, so often another worker), tag, and delete every other image.
    Returns (image id, last value) of the images kept; every failure raises."""
    kept = []
    for number in range(ROUNDS):
        created = requests.post(f"{url}/v2/images", headers=headers, timeout=60, json={
            "name": f"c{client}-{number}", "disk_format": "raw",
            "container_format": "bare", "tags": ["load"]})
        assert created.status_code == 201, created.text
        image = f"{url}/v2/images/{created.json()['id']}"
        value = f"v{client}-{number}"
        patched = requests.patch(image, headers={**headers, **PATCH}, timeout=60,
                                 json=[{"op": "add", "path": "/mark", "value": value}])
        assert patched.status_code == 200, patched.text
        assert patched.json()["mark"] == value
        assert requests.get(image, headers=headers, timeout=60).json()["mark"] == value
        tagged = requests.put(f"{image}/tags/t{number}", headers=headers, timeout=60)
        assert tagged.status_code == 204, tagged.text
        if number % 2:
            deleted = requests.delete(image, headers=headers, timeout=60)
            assert deleted.status_code == 204, deleted.text
            gone = requests.get(image, headers=headers, timeout=60)
            assert gone.status_code == 404, gone.text
        else:
            kept.append((created.json()["id"], value))
    return kept


def test_four_workers_take_concurrent_writes_without_failures_or_lost_writes(
        start_server):
    server = start_server({"DEFAULT": {"workers": 4}}, name="writers")
    headers = helpers.identity("member,reader", project=uuid.uuid4().hex)
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(lambda n: _writes(server.url, headers, n), range(CLIENTS)))
    kept = dict(pair for result in results for pair in result)
    assert len(kept) == CLIENTS * ROUNDS // 2
    listed = requests.get(f"{server.url}/v2/images?limit=1000&tag=load", headers=headers,
                          timeout=60).json()["images"]
    assert {image["id"]: image["mark"] for image in listed} == kept
    for image in listed:
        assert len(image["tags"]) == 2  # "load" and its own tag
    # The writers did queue on the lock file next to the database.
    assert (server.state_path / ("glance.sqlite" + write_lock.SUFFIX)).exists()


def test_a_hung_lock_holder_makes_writes_fail_cleanly_within_the_timeout(start_server,
                                                                        tmp_path):
    database = tmp_path / "hung.sqlite"
    server = start_server({"DEFAULT": {"workers": 2},
                           "database": {"connection": f"sqlite:///{database}?timeout=2"}},
                          name="hung")
    headers = helpers.identity("member,reader", project=uuid.uuid4().hex)
    body = {"name": "x", "disk_format": "raw", "container_format": "bare"}
    before = requests.post(f"{server.url}/v2/images", headers=headers, json=body, timeout=60)
    assert before.status_code == 201, before.text
    # Another process (this one) takes the lock and "hangs" holding it.
    fd = os.open(f"{database}{write_lock.SUFFIX}", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        started = time.monotonic()
        refused = requests.post(f"{server.url}/v2/images", headers=headers, json=body,
                                timeout=60)
        waited = time.monotonic() - started
        assert refused.status_code == 503, refused.text
        assert refused.headers["Retry-After"]
        assert 1.5 < waited < 15
        # Readers take no lock: they go on meanwhile.
        image = f"{server.url}/v2/images/{before.json()['id']}"
        started = time.monotonic()
        assert requests.get(image, headers=headers, timeout=60).status_code == 200
        assert requests.get(f"{server.url}/v2/images", headers=headers,
                            timeout=60).status_code == 200
        assert time.monotonic() - started < 1.5
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    after = requests.post(f"{server.url}/v2/images", headers=headers, json=body, timeout=60)
    assert after.status_code == 201, after.text


@pytest.fixture
def global_engine(request, tmp_path):
    """The process-wide engine on a fresh database of the asked back end."""
    for url in create_database(request.param, tmp_path):
        CONF.set_override("connection", url, group="database")
        engine.reset()
        try:
            yield request.param
        finally:
            engine.reset()
            CONF.clear_override("connection", group="database")


@pytest.mark.parametrize("global_engine", [
    "sqlite", pytest.param("mysql", marks=pytest.mark.mysql),
    pytest.param("postgresql", marks=pytest.mark.postgresql)], indirect=True)
def test_writers_queue_on_sqlite_only(global_engine):
    """Two writer sessions at once: on SQLite the second waits until the first ends;
    on the database servers both are open together (no lock of ours around them)."""
    first_in, second_done = threading.Event(), threading.Event()
    overlapped: list[bool] = []

    def first():
        with engine.writer_session() as session:
            session.execute(sa.text("SELECT 1"))
            first_in.set()
            overlapped.append(second_done.wait(3))

    def second():
        first_in.wait(10)
        with engine.writer_session() as session:
            session.execute(sa.text("SELECT 1"))
        second_done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert second_done.is_set()
    assert overlapped == [global_engine != "sqlite"]


@pytest.mark.parametrize("global_engine", ["sqlite"], indirect=True)
def test_the_lock_spans_each_write_transaction_and_no_more(global_engine):
    path = engine.get_engine().url.database + write_lock.SUFFIX
    with engine.reader_session() as session:
        session.execute(sa.text("SELECT 1"))
        assert not helpers.flock_held(path)  # readers take no lock
    with engine.writer_session() as session:
        assert not helpers.flock_held(path)  # taken at BEGIN, not before
        session.execute(sa.text("SELECT 1"))
        assert helpers.flock_held(path)
    assert not helpers.flock_held(path)  # released once committed
    with pytest.raises(RuntimeError), engine.writer_session() as session:
        session.execute(sa.text("SELECT 1"))
        raise RuntimeError("boom")
    assert not helpers.flock_held(path)  # ... or rolled back
    with pytest.raises(db_exc.DBNonExistentTable), engine.writer_session() as session:
        session.execute(sa.text("SELECT * FROM no_such_table"))
    assert not helpers.flock_held(path)
    # Core transactions of the writer engine (glance-manage's purge, migrations) too.
    with engine.get_engine().begin() as connection:
        connection.exec_driver_sql("SELECT 1")
        assert helpers.flock_held(path)
    assert not helpers.flock_held(path)

"""glance-api started while its database is unreachable, then up, then down again.

The database is MariaDB or PostgreSQL behind a TCP forwarder of this test, on a
port where nothing listens until the test starts the forwarder (and again after
it stops it), or that accepts connections and never answers ("silent"). Also
PostgreSQL with a database that does not exist yet. Throughout: the server
answers within 2 s of its start; GET / and /versions at once; every request that
needs the database within 5 s, with 503 + Retry-After and a JSON body while the
database is down, and /healthcheck 503; once it is up, 200s without a restart.
"""

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
import requests

from tests import helpers
from tests.functional.db.conftest import create_database
from tests.functional.tcp_forwarder import Forwarder

JSON = {**helpers.ADMIN, "Accept": "application/json"}
FIRST_ANSWER_S = 2.0
DB_REQUEST_S = 5.0
PORTS = {"mysql": 3306, "postgresql": 5432}


def _sync(url: str, directory: Path) -> None:
    config = helpers.write_config(directory, {"database": {"connection": url}})
    subprocess.run([str(helpers.ROOT / ".venv" / "bin" / "glance-manage"), "--config-file",
                    str(config), "db", "sync"], check=True, capture_output=True)


def _through(url: str, backend: str, port: int) -> str:
    return url.replace(f"127.0.0.1:{PORTS[backend]}", f"127.0.0.1:{port}")


def _timed(method: str, url: str, **kwargs) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = requests.request(method, url, timeout=30, **kwargs)
    return response, time.monotonic() - started


def _start(tmp_path: Path, url: str) -> tuple[helpers.Server, float]:
    """A server whose database may be down; returns it and its first answer's delay."""
    config = helpers.write_config(tmp_path / "api", {"database": {"connection": url}})
    server = helpers.Server(config)
    started = time.monotonic()
    server.start(timeout=60, healthy=False)
    return server, time.monotonic() - started


def _database_requests(base: str, image_id: str | None) -> list[tuple[str, str, dict]]:
    create = {"json": {"name": "x", "disk_format": "raw", "container_format": "bare"}}
    calls = [("GET", f"{base}/v2/images", {}), ("POST", f"{base}/v2/images", create)]
    if image_id:
        calls.append(("GET", f"{base}/v2/images/{image_id}", {}))
    return calls


def assert_down(server: helpers.Server, image_id: str | None = None) -> float:
    """Every database request is a quick 503 + Retry-After with a JSON body; the
    API's documents still answer at once; /healthcheck says 503. Returns the
    slowest database request's time."""
    slowest = 0.0
    for method, url, kwargs in _database_requests(server.url, image_id):
        response, took = _timed(method, url, headers=JSON, **kwargs)
        assert response.status_code == 503, (method, url, response.text)
        assert response.headers.get("Retry-After")
        assert "database" in response.json()["message"]
        assert took < DB_REQUEST_S, (method, url, took)
        slowest = max(slowest, took)
    for path, status in (("/", 300), ("/versions", 200)):
        response, took = _timed("GET", server.url + path)
        assert response.status_code == status and took < 0.5, (path, took)
    time.sleep(1.1)  # each worker's healthcheck keeps its answer for a second
    for _ in range(4):  # both workers
        response, took = _timed("GET", server.url + "/healthcheck")
        assert response.status_code == 503 and "DATABASE UNAVAILABLE" in response.text
        assert took < DB_REQUEST_S, took
    return slowest


def assert_up(server: helpers.Server) -> str:
    """Requests succeed (after the healthcheck's ~1 s cache); returns a new image's id."""
    assert helpers.wait_until(lambda: requests.get(server.url + "/healthcheck",
                                                   timeout=10).status_code == 200, 15)
    assert helpers.wait_until(lambda: requests.get(server.url + "/v2/images", headers=JSON,
                                                   timeout=10).status_code == 200, 10)
    response = requests.post(server.url + "/v2/images", headers=JSON, timeout=10,
                             json={"name": "up", "disk_format": "raw",
                                   "container_format": "bare"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture
def first_answer_bound(tmp_path) -> float:
    """FIRST_ANSWER_S; on a machine too busy for that (a shared CI host), 1.5 times
    what a server with a healthy SQLite database takes to answer first, measured
    just before: the database being down must not delay the start."""
    directory = tmp_path / "baseline"
    url = "sqlite:///" + str(directory / "glance.sqlite")
    _start(directory, url)[0].stop()  # creates and migrates the database
    server, healthy = _start(directory, url)
    server.stop()
    print(f"healthy start: first answer {healthy:.2f} s")
    return max(FIRST_ANSWER_S, 1.5 * healthy)


@pytest.fixture
def stopping() -> Iterator[list]:
    """Things to stop at the end (servers, forwarders)."""
    things: list = []
    yield things
    for thing in reversed(things):
        thing.stop()


@pytest.mark.parametrize("backend", [pytest.param("mysql", marks=pytest.mark.mysql),
                                     pytest.param("postgresql",
                                                  marks=pytest.mark.postgresql)])
def test_database_behind_a_port_that_comes_and_goes(tmp_path, stopping, first_answer_bound,
                                                    backend):
    databases = create_database(backend, tmp_path)
    url = next(databases)
    try:
        _sync(url, tmp_path / "sync")
        forwarder = Forwarder(helpers.free_port(), PORTS[backend])
        stopping.append(forwarder)
        server, first = _start(tmp_path, _through(url, backend, forwarder.port))
        stopping.append(server)
        assert first < first_answer_bound, first
        slowest = assert_down(server)

        forwarder.start()
        image_id = assert_up(server)

        forwarder.stop()
        slowest = max(slowest, assert_down(server, image_id))

        forwarder.start(silent=True)  # accepts, never answers
        slowest = max(slowest, assert_down(server, image_id))
        forwarder.stop()

        forwarder.start()
        assert_up(server)
        print(f"{backend}: first answer {first:.2f} s, slowest DB request while "
              f"down {slowest:.2f} s")
    finally:
        for thing in reversed(stopping):
            thing.stop()
        stopping.clear()
        next(databases, None)


@pytest.mark.postgresql
def test_postgresql_database_created_after_start(tmp_path, stopping, first_answer_bound):
    name = f"glance_t_late_{int(time.time() * 1000) % 10 ** 9}"
    url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    server, first = _start(tmp_path, url)
    stopping.append(server)
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    try:
        assert first < first_answer_bound, first
        assert_down(server)
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {name}")
        assert_down(server)  # exists, but has no tables yet
        _sync(url, tmp_path / "sync")
        assert_up(server)
    finally:
        server.stop()
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def test_sqlite_in_a_directory_that_cannot_be_created_stops_start_up(tmp_path):
    """The embedded database is created and migrated at start-up; a file that
    cannot be (a path under a regular file) is a start-up error, not an outage."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    config = helpers.write_config(tmp_path / "api", {
        "database": {"connection": f"sqlite:///{blocker}/sub/glance.sqlite"}})
    started = time.monotonic()
    result = subprocess.run([str(helpers.ROOT / ".venv" / "bin" / "glance-api"),
                             "--config-file", str(config)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0
    assert time.monotonic() - started < 10
    assert "database" in result.stderr and "Traceback" not in result.stderr

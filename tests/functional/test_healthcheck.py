"""/healthcheck with the ``database`` backend: fast, cached, bounded, and still
disabled by file; the database check itself on unreachable and silent servers."""

import shutil
import threading
import time

import pytest
import requests
from oslo_config import cfg

import glance.conf  # noqa: F401 - registers [database]
from glance.db import health, migration
from glance.db.sqlalchemy import engine
from tests import helpers
from tests.functional.db.conftest import create_database
from tests.functional.tcp_forwarder import Forwarder

CONF = cfg.CONF


@pytest.fixture
def database_at():
    """Point the process's engine at a URL for one test, then back."""
    def _point(url: str) -> None:
        CONF.set_override("connection", url, group="database")
        engine.reset()
        health.reset()
    yield _point
    CONF.clear_override("connection", group="database")
    engine.reset()
    health.reset()


def test_unreachable_database_is_reported_at_once(database_at):
    database_at(f"mysql+pymysql://root@127.0.0.1:{helpers.free_port()}/glance")
    started = time.monotonic()
    result = health.check()
    assert not result.ok and "database unavailable" in result.details
    assert time.monotonic() - started < 1


def test_a_silent_database_is_answered_within_the_bound_and_queried_once(database_at):
    forwarder = Forwarder(helpers.free_port(), 3306).start(silent=True)
    try:
        database_at(f"mysql+pymysql://root@127.0.0.1:{forwarder.port}/glance")
        answers: list[tuple[health.Health, float]] = []

        def ask() -> None:
            started = time.monotonic()
            answers.append((health.check(), time.monotonic() - started))
        threads = [threading.Thread(target=ask) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(answers) == 20
        assert all(not result.ok for result, _ in answers)
        assert max(took for _, took in answers) < health.WAIT_S + 0.5
        assert len({id(result) for result, _ in answers}) == 1  # one query for all twenty
    finally:
        forwarder.stop()


@pytest.mark.mysql
def test_answers_are_cached_for_about_a_second(database_at, tmp_path):
    databases = create_database("mysql", tmp_path)
    url = next(databases)
    forwarder = Forwarder(helpers.free_port(), 3306).start()
    try:
        database_at(url.replace(":3306/", f":{forwarder.port}/"))
        migration.db_sync()
        engine.dispose()
        forwarder.accepted = 0
        first = health.check()
        assert first.ok, first.details
        assert all(health.check() is first for _ in range(50))
        time.sleep(health.CACHE_S + 0.1)
        assert health.check() is not first
        assert forwarder.accepted == 1  # the pooled connection served both queries
    finally:
        forwarder.stop()
        next(databases, None)


@pytest.fixture(scope="module")
def checked_server(tmp_path_factory, start_server):
    """A server with detailed answers and its own disable file."""
    directory = tmp_path_factory.mktemp("health")
    paste = directory / "glance-api-paste.ini"
    shutil.copy(helpers.ROOT / "etc" / "glance-api-paste.ini", paste)
    disable = directory / "healthcheck_disable"
    paste.write_text(paste.read_text().replace("/etc/glance/healthcheck_disable",
                                               str(disable)))
    server = start_server({"paste_deploy": {"config_file": paste},
                           "healthcheck": {"detailed": "true"}}, name="health")
    return server, disable


def test_healthy_answer_is_glances_ok(checked_server):
    server, _disable = checked_server
    response = requests.get(server.url + "/healthcheck", timeout=10)
    assert response.status_code == 200 and response.text.strip() == "OK"
    assert requests.head(server.url + "/healthcheck", timeout=10).status_code == 204


def test_detailed_answer_names_the_database(checked_server):
    server, _disable = checked_server
    response = requests.get(server.url + "/healthcheck", timeout=10,
                            headers={"Accept": "application/json"})
    assert response.status_code == 200
    details = [reason["details"] for reason in response.json()["reasons"]]
    assert any(detail.startswith("database answered in") for detail in details), details


def test_disable_by_file_still_works(checked_server):
    server, disable = checked_server
    disable.write_text("")
    try:
        response = requests.get(server.url + "/healthcheck", timeout=10)
        assert response.status_code == 503 and "DISABLED BY FILE" in response.text
    finally:
        disable.unlink()
    assert requests.get(server.url + "/healthcheck", timeout=10).status_code == 200

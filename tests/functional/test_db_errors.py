"""Real driver errors from SQLite, MariaDB and PostgreSQL, classified for the API.

Each error is raised by the real database through an oslo.db engine (the same
exception filters as glance-api's engine) and then mapped by the fault layer:
the server gone or busy -> 503 + Retry-After; a statement refused for its size
or complexity -> 400; anything else (our bug) -> 500.
"""

import sqlite3
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
import webob
from oslo_db.sqlalchemy import engines

from glance.api import faults
from glance.db import errors
from tests import helpers
from tests.functional.db.conftest import create_database

UNAVAILABLE, TOO_COMPLEX = errors.Failure.UNAVAILABLE, errors.Failure.TOO_COMPLEX


def _engine(url: str) -> sa.Engine:
    return engines.create_engine(url, max_retries=0)


def _raised(engine: sa.Engine, statement: str, params: tuple = ()) -> BaseException:
    with pytest.raises(Exception) as info, engine.connect() as connection:
        connection.exec_driver_sql(statement, params)
    return info.value


def _status(err: BaseException) -> tuple[int, str | None]:
    response = faults.from_exception(webob.Request.blank("/", accept="application/json"), err)
    return response.status_int, response.headers.get("Retry-After")


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql),
                        pytest.param("postgresql", marks=pytest.mark.postgresql)])
def url(request, tmp_path) -> Iterator[str]:
    yield from create_database(request.param, tmp_path)


def _deep_expression(depth: int) -> str:
    return "SELECT 1 WHERE " + " OR ".join(f"{i} = {i + 1}" for i in range(depth))


def test_too_complex_statements_are_400(url):
    engine = _engine(url)
    if url.startswith("sqlite"):
        cases = [(_deep_expression(1100), ()),  # Expression tree is too large
                 ("SELECT " + ",".join(["?"] * 40000), (1,) * 40000),  # too many variables
                 ("SELECT " + ",".join(["1"] * 2100), ()),  # too many columns
                 ("SELECT 1 FROM " + ",".join(f"(SELECT 1) t{i}" for i in range(70)), ())]
    elif url.startswith("mysql"):
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE one (a INTEGER)")
        cases = [("SELECT 1 FROM " + " JOIN ".join(f"one t{i}" for i in range(70)), ())]
    else:
        cases = [("SELECT " + ",".join(["1"] * 1700), ()),  # at most 1664 entries
                 ("SELECT concat(" + ",".join(["1"] * 120) + ")", ())]  # 100 arguments
    for statement, params in cases:
        err = _raised(engine, statement, params)
        assert errors.classify(err) is TOO_COMPLEX, err
        assert _status(err) == (400, None)
    engine.dispose()


def test_our_mistakes_are_500(url):
    err = _raised(_engine(url), "SELEKT 1")
    assert errors.classify(err) is None
    assert _status(err) == (500, None)


def test_a_refused_connection_is_503():
    port = helpers.free_port()
    for url in (f"mysql+pymysql://root@127.0.0.1:{port}/glance",
                f"postgresql+psycopg2://postgres@127.0.0.1:{port}/glance"):
        err = _raised(_engine(url), "SELECT 1")
        assert errors.classify(err) is UNAVAILABLE, err
        assert _status(err) == (503, "5")


@pytest.mark.parametrize("backend", [pytest.param("mysql", marks=pytest.mark.mysql),
                                     pytest.param("postgresql",
                                                  marks=pytest.mark.postgresql)])
def test_a_database_that_does_not_exist_yet_is_503(backend):
    url = {"mysql": "mysql+pymysql://root@127.0.0.1:3306/glance_t_absent",
           "postgresql": "postgresql+psycopg2://postgres@127.0.0.1:5432/glance_t_absent"}
    err = _raised(_engine(url[backend]), "SELECT 1")
    assert errors.classify(err) is UNAVAILABLE, err


def test_a_schema_not_created_yet_is_503(url):
    err = _raised(_engine(url), "SELECT id FROM images")
    assert errors.classify(err) is UNAVAILABLE, err


def test_sqlite_file_that_cannot_be_opened_is_503(tmp_path):
    err = _raised(_engine(f"sqlite:///{tmp_path}/missing/dir/glance.sqlite"), "SELECT 1")
    assert errors.classify(err) is UNAVAILABLE, err


def test_a_lock_held_too_long_is_503(url):
    """A writer waiting for another's lock past the database's timeout."""
    engine = _engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE held (id INTEGER PRIMARY KEY)")
        connection.exec_driver_sql("INSERT INTO held (id) VALUES (1)")
    if url.startswith("sqlite"):
        holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        blocked, setup = _engine(url + "?timeout=0.1"), None
    else:
        holder = engine.raw_connection()
        holder.cursor().execute("SELECT id FROM held WHERE id = 1 FOR UPDATE")
        blocked = engine
        setup = ("SET SESSION innodb_lock_wait_timeout = 1" if url.startswith("mysql")
                 else "SET lock_timeout = '200ms'")
    try:
        with pytest.raises(Exception) as info, blocked.connect() as connection:
            if setup:
                connection.exec_driver_sql(setup)
            connection.exec_driver_sql("UPDATE held SET id = 2 WHERE id = 1")
    finally:
        holder.rollback()
        holder.close()
    assert errors.classify(info.value) is UNAVAILABLE, info.value
    assert _status(info.value) == (503, "5")
    blocked.dispose()
    engine.dispose()


@pytest.mark.postgresql
def test_a_statement_timeout_is_503(tmp_path):
    databases = create_database("postgresql", tmp_path)
    engine = _engine(next(databases) + "?options=-c%20statement_timeout%3D100")
    try:
        err = _raised(engine, "SELECT pg_sleep(2)")
        assert errors.classify(err) is UNAVAILABLE, err
    finally:
        engine.dispose()
        next(databases, None)

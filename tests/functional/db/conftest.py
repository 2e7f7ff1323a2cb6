"""Throwaway databases on SQLite, MariaDB and PostgreSQL for migration tests.

``db_url`` is parametrized over the three back ends; each test gets a fresh,
empty database that is dropped afterwards. A back end whose server does not
answer is skipped.
"""

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

MYSQL_ADMIN = "mysql+pymysql://root@127.0.0.1:3306/"
POSTGRES_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
BACKENDS = [pytest.param("sqlite", id="sqlite"),
            pytest.param("mysql", id="mysql", marks=pytest.mark.mysql),
            pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql)]


def _admin(url: str) -> sa.Engine:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as err:
        pytest.skip(f"database server not reachable: {err.orig}")
    return engine


def create_database(backend: str, tmp_path) -> Iterator[str]:
    """Yield the URL of a new empty database, dropped at the end."""
    name = f"glance_t_{uuid.uuid4().hex[:12]}"
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / (name + '.sqlite')}"
        return
    admin = _admin(MYSQL_ADMIN if backend == "mysql" else POSTGRES_ADMIN)
    with admin.connect() as connection:
        if backend == "mysql":
            connection.exec_driver_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
        else:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        if backend == "mysql":
            yield f"mysql+pymysql://root@127.0.0.1:3306/{name}?charset=utf8mb4"
        else:
            yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as connection:
            if backend == "mysql":
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
            else:
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def db_url(backend, tmp_path) -> Iterator[str]:
    yield from create_database(backend, tmp_path)


@pytest.fixture
def db_engine(db_url) -> Iterator[sa.Engine]:
    """A plain engine on the throwaway database (no oslo.db facade)."""
    kwargs = {"connect_args": {"timeout": 60}} if db_url.startswith("sqlite") else {}
    engine = sa.create_engine(db_url, **kwargs)
    if db_url.startswith("sqlite"):  # as glance's engine does, before anyone else writes
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA journal_mode = WAL")
    yield engine
    engine.dispose()


def table_rows(engine: sa.Engine, table: str) -> list[dict]:
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(
            sa.text(f"SELECT * FROM {table}"))]

"""Engine and transaction set-up through oslo.db's enginefacade.

SQLite is the embedded default and must take concurrent writers from several
worker processes. Three things make that work: WAL journaling (readers never
block the writer), a busy timeout (a writer waits for the lock instead of
failing), and write transactions that take the write lock when they begin
(``BEGIN IMMEDIATE``). With a plain deferred ``BEGIN`` two read-then-write
transactions can each hold a read snapshot and then both ask for the write
lock; SQLite fails one of them at once with "database is locked", whatever the
busy timeout. The reader engine keeps a deferred ``BEGIN``. On a database file
the writer's ``BEGIN IMMEDIATE`` first takes a lock that the kernel hands over
on release (glance/db/sqlalchemy/write_lock.py), so that writers in several
processes queue without sleeping in SQLite's busy handler; MariaDB and
PostgreSQL take no such lock.

A database server that does not answer must not hold a request (or the
start-up) for long: the engines connect lazily, on first use, with a connect
timeout of CONNECT_TIMEOUT_S, and without oslo.db's start-up retry loop
(``[database] max_retries`` x ``retry_interval``, 10 x 10 s by default). A
request that cannot connect fails at once (503, see glance/db/errors.py) and the
next one tries again, so the service recovers by itself when the database comes
back. glance-manage and glance-scrubber fail at once the same way.
"""

import sqlalchemy
from oslo_config import cfg
from oslo_db import api as oslo_db_api
from oslo_db.sqlalchemy import enginefacade

from glance.db.sqlalchemy import write_lock

CONF = cfg.CONF
SQLITE_BUSY_TIMEOUT_S = 60
SQLITE_POOL_SIZE = 8
# Seconds to establish a connection to MariaDB/MySQL or PostgreSQL (libpq's
# minimum is 2); a ``connect_timeout`` in the connection URL wins.
CONNECT_TIMEOUT_S = 2
_CONNECT_TIMEOUT_DRIVERS = ("mysql", "postgresql")
ANALYSIS_LIMIT = 1000

_context_manager = enginefacade.transaction_context()
_configured = False

# Decorator for the repository's write functions: the function runs again (a new
# transaction) when the database reports a deadlock, as MariaDB may during online
# schema changes and Galera does when two nodes' commits conflict at certification;
# other errors are never retried.
retry_on_deadlock = oslo_db_api.wrap_db_retry(max_retries=5, retry_on_deadlock=True,
                                              retry_interval=0.1, inc_retry_interval=True)


class _Tx:
    """Holder that enginefacade attaches one call's transaction to."""


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _install_sqlite_pragmas(engine: sqlalchemy.engine.Engine) -> None:
    """Per-connection pragmas and the writer's BEGIN IMMEDIATE."""
    if engine.dialect.name != "sqlite":
        return

    file_backed = write_lock.for_database(engine.url.database or "") is not None
    timeout = _busy_timeout(engine.url)
    if file_backed:
        _pool_connections(engine)
        write_lock.install(engine)

    @sqlalchemy.event.listens_for(engine, "connect")
    def _pragmas(dbapi_con, _record):
        if file_backed:
            dbapi_con.execute("PRAGMA synchronous = NORMAL")

    # oslo.db registers a "begin" listener that always emits a deferred BEGIN;
    # ours replaces it and chooses the statement by engine.
    for listener in list(engine.dispatch.begin):
        if getattr(listener, "__name__", "") == "_sqlite_emit_begin":
            sqlalchemy.event.remove(engine, "begin", listener)

    @sqlalchemy.event.listens_for(engine, "begin")
    def _begin(conn):
        if "in_transaction" in conn.info:
            return
        if conn.engine is not _context_manager.writer.get_engine():
            conn.exec_driver_sql("BEGIN")
        elif file_backed:
            write_lock.begin_immediate(conn, timeout)
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        conn.info["in_transaction"] = True

    if file_backed:
        # WAL is a property of the database file: set it once per process, not on
        # every connection (oslo.db gives SQLite a NullPool, so every transaction
        # opens a new connection). Outside any transaction, on the raw connection.
        # Also refresh the planner's statistics (bounded work per index), so that
        # SQLite keeps choosing the listing indexes as the tables grow.
        raw = engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA journal_mode = WAL")
            raw.driver_connection.execute(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}")
            raw.driver_connection.execute("ANALYZE")
        finally:
            raw.close()


def _busy_timeout(url: sqlalchemy.engine.URL) -> float:
    """The driver's busy timeout in the URL, seconds: also the write lock's."""
    value = url.query.get("timeout", str(SQLITE_BUSY_TIMEOUT_S))
    try:
        return float(value if isinstance(value, str) else value[-1])
    except ValueError:
        return SQLITE_BUSY_TIMEOUT_S  # the driver reports it


def _pool_connections(engine: sqlalchemy.engine.Engine) -> None:
    """Keep SQLite connections open between transactions.

    oslo.db gives file-backed SQLite a NullPool, so each transaction would open
    the file and parse the schema again (about 1 ms a request). A QueuePool built
    the way SQLAlchemy's own ``Pool.recreate()`` builds one keeps every event
    listener (oslo.db's and ours). Connections cross threads, hence
    ``check_same_thread=false`` in the URL (see configure()).
    """
    old = engine.pool
    engine.pool = sqlalchemy.pool.QueuePool(
        old._creator, pool_size=SQLITE_POOL_SIZE, max_overflow=2 * SQLITE_POOL_SIZE,
        recycle=old._recycle, echo=old.echo, logging_name=old._orig_logging_name,
        reset_on_return=old._reset_on_return, _dispatch=old.dispatch, dialect=old._dialect)


def _sqlite_url(url: str) -> str:
    """The URL with the busy timeout and cross-thread use set as driver arguments."""
    parsed = sqlalchemy.engine.make_url(url)
    query = {"timeout": str(SQLITE_BUSY_TIMEOUT_S), "check_same_thread": "false"}
    query.update(parsed.query)
    return parsed.update_query_dict(query).render_as_string(hide_password=False)


def _server_url(url: str) -> str:
    """The URL of a database server with a connect timeout (unless it sets one)."""
    try:
        parsed = sqlalchemy.engine.make_url(url)
    except sqlalchemy.exc.ArgumentError:
        return url  # creating the engine reports it
    if parsed.get_backend_name() not in _CONNECT_TIMEOUT_DRIVERS or (
            "connect_timeout" in parsed.query):
        return url
    return parsed.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT_S)}).\
        render_as_string(hide_password=False)


def configure() -> None:
    """Configure the facade from [database] once per process (idempotent)."""
    global _configured  # noqa: PLW0603 - process-wide on purpose: one engine facade
    if _configured:
        return
    url = CONF.database.connection
    url = _sqlite_url(url) if _is_sqlite(url) else _server_url(url)
    # thread_checkin: oslo.db's sleep(0) on every connection check-in exists for
    # eventlet's green threads; we run on OS threads, where it only costs time.
    kwargs = {"sqlite_fk": False, "connection": url, "thread_checkin": False}
    # No test connection (and no retry loop) when the engine is created.
    kwargs["max_retries"] = 0
    if _is_sqlite(url) and not CONF.database.slave_connection:
        # A separate reader engine, so that only writers take the write lock.
        kwargs.update(slave_connection=url, synchronous_reader=False)
    elif CONF.database.slave_connection:
        kwargs["slave_connection"] = _server_url(CONF.database.slave_connection)
    _context_manager.configure(**kwargs)
    _context_manager.append_on_engine_create(_install_sqlite_pragmas)
    _configured = True


def writer_session():
    """Context manager: a session in a write transaction (committed on exit)."""
    configure()
    return _context_manager.writer.using(_Tx())


def reader_session():
    """Context manager: a session in a read transaction."""
    configure()
    return _context_manager.reader.using(_Tx())


def reader_connection():
    """Context manager: a Core connection in a read transaction (cheaper than a
    session for the hot read paths, which use Core statements only)."""
    configure()
    return _context_manager.reader.connection.using(_Tx())


def get_engine() -> sqlalchemy.engine.Engine:
    """The writer engine (used by migrations and manage commands)."""
    configure()
    return _context_manager.writer.get_engine()


def dispose() -> None:
    """Close pooled connections (before a fork, and in tests)."""
    if _configured:
        _context_manager.writer.get_engine().dispose()


def reset(close: bool = True) -> None:
    """Forget engines and configuration, so [database] connection is read again.

    ``close=False`` (in a forked child) drops the pooled connections without
    closing them: they belong to the parent process.
    """
    global _context_manager, _configured  # noqa: PLW0603 - process-wide on purpose: one facade
    if _configured:
        for engine in {_context_manager.writer.get_engine(),
                       _context_manager.reader.get_engine()}:
            engine.dispose(close=close)
    _context_manager = enginefacade.transaction_context()
    _configured = False

"""Engine and transaction set-up through oslo.db's enginefacade.

SQLite is the embedded default and must take concurrent writers from several
worker processes. Three things make that work: WAL journaling (readers never
block the writer), a busy timeout (a writer waits for the lock instead of
failing), and write transactions that take the write lock when they begin
(``BEGIN IMMEDIATE``). With a plain deferred ``BEGIN`` two read-then-write
transactions can each hold a read snapshot and then both ask for the write
lock; SQLite fails one of them at once with "database is locked", whatever the
busy timeout. The reader engine keeps a deferred ``BEGIN``.
"""

import sqlalchemy
from oslo_config import cfg
from oslo_db.sqlalchemy import enginefacade

CONF = cfg.CONF
SQLITE_BUSY_TIMEOUT_MS = 60000

_context_manager = enginefacade.transaction_context()
_configured = False


class _Tx:
    """Holder that enginefacade attaches one call's transaction to."""


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _install_sqlite_pragmas(engine: sqlalchemy.engine.Engine) -> None:
    """Per-connection pragmas and the writer's BEGIN IMMEDIATE."""
    if engine.dialect.name != "sqlite":
        return

    @sqlalchemy.event.listens_for(engine, "connect")
    def _pragmas(dbapi_con, _record):
        dbapi_con.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        if engine.url.database not in (None, "", ":memory:"):
            dbapi_con.execute("PRAGMA journal_mode = WAL")
            dbapi_con.execute("PRAGMA synchronous = NORMAL")
        dbapi_con.execute("PRAGMA foreign_keys = ON")

    # oslo.db registers a "begin" listener that always emits a deferred BEGIN;
    # ours replaces it and chooses the statement by engine.
    for listener in list(engine.dispatch.begin):
        if getattr(listener, "__name__", "") == "_sqlite_emit_begin":
            sqlalchemy.event.remove(engine, "begin", listener)

    @sqlalchemy.event.listens_for(engine, "begin")
    def _begin(conn):
        if "in_transaction" in conn.info:
            return
        writer = _context_manager.writer.get_engine()
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.engine is writer else "BEGIN")
        conn.info["in_transaction"] = True


def configure() -> None:
    """Configure the facade from [database] once per process (idempotent)."""
    global _configured
    if _configured:
        return
    url = CONF.database.connection
    kwargs = {"sqlite_fk": False, "connection": url}
    if _is_sqlite(url) and not CONF.database.slave_connection:
        # A separate reader engine, so that only writers take the write lock.
        kwargs.update(slave_connection=url, synchronous_reader=False)
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


def get_engine() -> sqlalchemy.engine.Engine:
    """The writer engine (used by migrations and manage commands)."""
    configure()
    return _context_manager.writer.get_engine()


def dispose() -> None:
    """Close pooled connections (before a fork, and in tests)."""
    if _configured:
        _context_manager.writer.get_engine().dispose()


def reset() -> None:
    """Forget engines and configuration, so [database] connection is read again."""
    global _context_manager, _configured
    if _configured:
        for engine in {_context_manager.writer.get_engine(),
                       _context_manager.reader.get_engine()}:
            engine.dispose()
    _context_manager = enginefacade.transaction_context()
    _configured = False

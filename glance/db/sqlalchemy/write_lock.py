"""One writer at a time on an SQLite database file, queued by the kernel.

SQLite lets one connection write at a time. A writer that finds the write lock
taken sleeps in SQLite's busy handler (1, 2, 5 ... up to 100 ms between tries)
and learns nothing of the release; with several worker processes writing, the
waits add up to seconds at the tail. Here every write transaction of the writer
engine (``BEGIN IMMEDIATE``, see engine.py) first takes an exclusive ``flock``
on a lock file next to the database (``<database>-writelock``), and gives it
back as soon as its COMMIT or ROLLBACK is done (or its connection closes). A
process waiting in ``flock`` is woken by the kernel as soon as the holder
releases, so writers hand over without sleeping. SQLite's own locking is
unchanged underneath: a process that does not take this lock (an older
glance-manage, the ``sqlite3`` shell) is still safe, it only waits in the busy
handler as before.

``flock`` belongs to an open file description, so the threads of one process
share one descriptor and queue on a ``threading.Lock`` first; the descriptor
is opened lazily in each process (gunicorn forks the workers after import, and
a descriptor inherited across ``fork`` is the parent's lock).

Waits are bounded: ``flock`` has no timeout, so when the lock is taken a
per-process waiter thread blocks in ``flock`` for the requesting thread, which
waits on a condition with the database's busy timeout. If that passes (a
holder that hangs), the request fails with SQLite's own "database is locked"
(a 503), and the waiter gives the lock back as soon as the kernel hands it
over. The kernel drops the lock of a process that dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator

import sqlalchemy
from sqlalchemy import exc as sa_exc

LOG = logging.getLogger(__name__)
SUFFIX = "-writelock"
_SQLITE_BUSY = 5


class WriteLockTimeout(sa_exc.OperationalError):
    """The write lock was not free within the busy timeout: reported as SQLite
    reports its own busy timeout ("database is locked", SQLITE_BUSY)."""

    def __init__(self, path: str, waited: float) -> None:
        orig = sqlite3.OperationalError(
            f"database is locked (waited {waited:.1f} s for the write lock {path})")
        orig.sqlite_errorcode = _SQLITE_BUSY  # type: ignore[attr-defined]
        orig.sqlite_errorname = "SQLITE_BUSY"  # type: ignore[attr-defined]
        super().__init__("-- wait for the write lock", None, orig)


class FileWriteLock:
    """The write lock of one database file, as seen by one process."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.pid = os.getpid()
        self._threads = threading.Lock()  # this process's writers queue here first
        self._state = threading.Condition(threading.Lock())
        self._fd: int | None = None
        self._held = False  # this process holds the flock (for a requesting thread)
        self._pending = False  # the waiter thread is blocked in flock
        self._wanted = False  # a requesting thread waits for the pending flock
        self._waiter: threading.Thread | None = None
        self._owner: int | None = None  # thread ident of the holder
        self._depth = 0

    @contextlib.contextmanager
    def held(self, timeout: float) -> Iterator[None]:
        """Hold the lock for the block."""
        self.acquire(timeout)
        try:
            yield
        finally:
            self.release()

    def acquire(self, timeout: float) -> None:
        """Take the lock within ``timeout`` seconds, else WriteLockTimeout.
        Re-entrant in one thread (a second transaction of the same thread then
        waits in SQLite's busy handler, as without this lock)."""
        if self._owner == threading.get_ident():
            self._depth += 1
            return
        started = time.monotonic()
        deadline = started + timeout
        if not self._threads.acquire(timeout=max(0.0, timeout)):
            raise WriteLockTimeout(self.path, time.monotonic() - started)
        try:
            self._take_flock(deadline, started)
        except BaseException:
            self._threads.release()
            raise
        self._owner = threading.get_ident()

    def release(self) -> None:
        """Give the lock back."""
        if self._depth:
            self._depth -= 1
            return
        self._owner = None
        with self._state:
            self._held = False
            fcntl.flock(self._descriptor(), fcntl.LOCK_UN)
        self._threads.release()

    def _descriptor(self) -> int:
        if self._fd is None:
            flags = os.O_CREAT | os.O_CLOEXEC
            try:
                self._fd = os.open(self.path, os.O_RDWR | flags, 0o644)
            except PermissionError:  # another user's lock file: flock needs no write
                self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        return self._fd

    def _take_flock(self, deadline: float, started: float) -> None:
        fd = self._descriptor()
        with self._state:
            if not self._pending:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    self._held = True
                    return
                except BlockingIOError:
                    pass
                self._pending = True
                self._start_waiter()
                self._state.notify_all()
            self._wanted = True
            try:
                while not self._held:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise WriteLockTimeout(self.path, time.monotonic() - started)
                    self._state.wait(remaining)
            finally:
                self._wanted = False

    def _start_waiter(self) -> None:
        if self._waiter is None:
            self._waiter = threading.Thread(target=self._wait_loop, daemon=True,
                                            name=f"sqlite-write-lock {self.path}")
            self._waiter.start()

    def _wait_loop(self) -> None:
        """Block in flock whenever a requesting thread found the lock taken."""
        fd = self._descriptor()
        while True:
            with self._state:
                while not self._pending:
                    self._state.wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
            with self._state:
                self._pending = False
                if self._wanted:
                    self._held = True
                    self._state.notify_all()
                else:  # its requester gave up: hand it on at once
                    fcntl.flock(fd, fcntl.LOCK_UN)

    def forget(self) -> None:
        """In a forked child: drop the parent's descriptor without unlocking it."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


_locks: dict[str, FileWriteLock] = {}
_locks_guard = threading.Lock()


def for_database(database: str) -> FileWriteLock | None:
    """This process's lock of an SQLite database file, or None for an in-memory
    database or one named by a ``file:`` URI (whose file SQLite resolves itself).
    Look it up for each transaction: a lock object does not survive a fork."""
    lock = _locks.get(database)
    if lock is not None and lock.pid == os.getpid():
        return lock
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    with _locks_guard:
        lock = _locks.get(database)
        if lock is None or lock.pid != os.getpid():
            lock = _locks[database] = FileWriteLock(os.path.realpath(database) + SUFFIX)
        return lock


class Connection(sqlite3.Connection):
    """An sqlite3 connection that gives the write lock back when its transaction
    ends: after COMMIT or ROLLBACK, or when it is closed."""

    write_lock: FileWriteLock | None = None

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._transaction_ended()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._transaction_ended()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_write_lock()

    def _transaction_ended(self) -> None:
        if self.write_lock is not None and not self.in_transaction:
            self.release_write_lock()

    def release_write_lock(self) -> None:
        """Give the lock back if this connection holds it (in this process: a
        connection copied by a fork holds nothing of the child's)."""
        lock, self.write_lock = self.write_lock, None
        if lock is not None and lock.pid == os.getpid():
            lock.release()


def install(engine: sqlalchemy.engine.Engine) -> None:
    """Make the engine's SQLite connections able to hold the write lock."""

    @sqlalchemy.event.listens_for(engine, "do_connect")
    def _factory(_dialect, _record, _cargs, cparams):
        cparams["factory"] = Connection

    @sqlalchemy.event.listens_for(engine, "checkin")
    def _checkin(dbapi_con, _record):
        # Reset-on-return rolls back (which releases); this catches any other path.
        if isinstance(dbapi_con, Connection) and dbapi_con.write_lock is not None:
            dbapi_con.release_write_lock()


def begin_immediate(conn: sqlalchemy.engine.Connection, timeout: float) -> None:
    """BEGIN IMMEDIATE on ``conn`` once its database's write lock is held."""
    dbapi_con = conn.connection.dbapi_connection
    lock = for_database(conn.engine.url.database or "")
    if lock is not None and isinstance(dbapi_con, Connection) and (
            dbapi_con.write_lock is None):
        lock.acquire(timeout)
        dbapi_con.write_lock = lock
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        if isinstance(dbapi_con, Connection):
            dbapi_con.release_write_lock()
        raise


def _after_fork_in_child() -> None:
    global _locks_guard  # noqa: PLW0603 - the parent's guard may be held at the fork
    _locks_guard = threading.Lock()
    for lock in _locks.values():
        lock.forget()
    _locks.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)

"""Whether the database can serve requests, cheaply enough for a load balancer.

:func:`check` runs one trivial query on the images table (through the same
engine as the requests: it connects, and the schema is there) and keeps the
answer for CACHE_S, so a load balancer polling every node many times a second
costs the database one query per second per process. Whatever the database
does, the answer comes within WAIT_S: the query runs in a thread of its own,
and a caller that would wait longer is told the database did not answer (the
query keeps running, and no second one starts while it does).
"""

import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa

from glance import secrets
from glance.db import errors
from glance.db.sqlalchemy import engine, models

CACHE_S = 1.0
WAIT_S = 3.0


@dataclass(frozen=True)
class Health:
    """One check's answer: ``ok``, and a line for operators (never a password)."""

    ok: bool
    details: str


def _query() -> Health:
    started = time.monotonic()
    try:
        with engine.reader_connection() as connection:
            connection.execute(sa.select(models.Image.id).limit(0))
    except Exception as err:  # noqa: BLE001 - any failure means "cannot serve"
        kind = errors.classify(err)
        what = "unavailable" if kind is errors.Failure.UNAVAILABLE else "failing"
        cause = errors.driver_error(err)
        first_line = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        return Health(False, secrets.mask(f"database {what}: {type(cause).__name__}: "
                                          f"{first_line}"))
    took = (time.monotonic() - started) * 1000
    return Health(True, f"database answered in {took:.0f} ms")


class _Checker:
    """The cached, single-flight, time-bounded check of one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: Health | None = None
        self._last_at = 0.0
        self._running: threading.Event | None = None

    def check(self) -> Health:
        with self._lock:
            if self._last is not None and time.monotonic() - self._last_at < CACHE_S:
                return self._last
            if self._running is None:
                self._running = threading.Event()
                threading.Thread(target=self._run, args=(self._running,), daemon=True,
                                 name="glance-db-health").start()
            running = self._running
        if not running.wait(WAIT_S):
            return Health(False, f"database did not answer within {WAIT_S:.0f} s")
        with self._lock:
            assert self._last is not None
            return self._last

    def _run(self, done: threading.Event) -> None:
        health = _query()
        with self._lock:
            self._last, self._last_at, self._running = health, time.monotonic(), None
        done.set()


_checker = _Checker()


def check() -> Health:
    """The database's health, at most CACHE_S old, within WAIT_S."""
    return _checker.check()


def reset() -> None:
    """Forget the cached answer (tests, and after a fork)."""
    global _checker  # noqa: PLW0603 - process-wide on purpose: one cached answer
    _checker = _Checker()

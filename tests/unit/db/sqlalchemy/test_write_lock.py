"""The SQLite write lock (glance.db.sqlalchemy.write_lock) with real flocks held by
real processes: threads and processes take turns, waits are bounded, an exception
or a fork does not leave the lock taken."""

import fcntl
import os
import threading
import time

import pytest

from glance.db import errors
from glance.db.sqlalchemy import write_lock
from tests import helpers


@pytest.fixture
def database(tmp_path) -> str:
    return str(tmp_path / "glance.sqlite")


def _lock_path(database: str) -> str:
    return os.path.realpath(database) + write_lock.SUFFIX


class Holder:
    """A child process holding the flock of a lock file until told to let go."""

    def __init__(self, path: str) -> None:
        self.go_r, self.go_w = os.pipe()
        ready_r, ready_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child: lock, report, wait, exit
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT)
                fcntl.flock(fd, fcntl.LOCK_EX)
                os.write(ready_w, b"x")
                os.read(self.go_r, 1)
            finally:
                os._exit(0)
        os.read(ready_r, 1)
        os.close(ready_r)
        os.close(ready_w)

    def release(self) -> None:
        os.write(self.go_w, b"x")
        os.waitpid(self.pid, 0)


def test_in_memory_and_uri_databases_have_no_lock():
    assert write_lock.for_database(":memory:") is None
    assert write_lock.for_database("") is None
    assert write_lock.for_database("file:glance?mode=memory") is None


def test_the_lock_file_lies_next_to_the_database(database):
    lock = write_lock.for_database(database)
    with lock.held(5):
        assert helpers.flock_held(_lock_path(database))
    assert not helpers.flock_held(_lock_path(database))
    assert lock.path == database + "-writelock"


def test_an_exception_inside_releases_the_lock(database):
    lock = write_lock.for_database(database)
    with pytest.raises(RuntimeError), lock.held(5):
        raise RuntimeError("boom")
    assert not helpers.flock_held(_lock_path(database))
    with lock.held(0.5):  # and this process can take it again at once
        pass


def test_nested_use_in_one_thread_does_not_deadlock(database):
    lock = write_lock.for_database(database)
    with lock.held(1), lock.held(1):
        assert helpers.flock_held(_lock_path(database))
    assert not helpers.flock_held(_lock_path(database))


def test_threads_of_one_process_take_turns(database):
    lock = write_lock.for_database(database)
    inside, most = [0], [0]
    guard = threading.Lock()

    def work():
        for _ in range(50):
            with lock.held(10):
                with guard:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                time.sleep(0.0005)
                with guard:
                    inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 1


def test_a_hung_holder_gives_database_is_locked_within_the_timeout(database):
    lock = write_lock.for_database(database)
    holder = Holder(_lock_path(database))
    try:
        started = time.monotonic()
        with pytest.raises(write_lock.WriteLockTimeout) as info, lock.held(0.5):
            pass
        waited = time.monotonic() - started
        assert 0.45 < waited < 3
        # Answered as SQLite's own busy timeout: unavailable (503), not a 500.
        assert "database is locked" in str(info.value)
        assert errors.classify(info.value) is errors.Failure.UNAVAILABLE
        # A second thread waits its own full timeout too (the first one's wait in
        # the kernel is still pending): still an error, not a hang.
        with pytest.raises(write_lock.WriteLockTimeout), lock.held(0.3):
            pass
    finally:
        holder.release()
    # The lock the kernel handed over after the waits gave up is not kept.
    deadline = time.monotonic() + 5
    while helpers.flock_held(_lock_path(database)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not helpers.flock_held(_lock_path(database))
    with lock.held(1):
        pass


def test_a_waiter_gets_the_lock_as_soon_as_the_holder_lets_go(database):
    lock = write_lock.for_database(database)
    holder = Holder(_lock_path(database))
    got: list[float] = []

    def wait():
        with lock.held(30):
            got.append(time.monotonic())

    thread = threading.Thread(target=wait)
    thread.start()
    time.sleep(0.3)
    assert not got  # still waiting
    released = time.monotonic()
    holder.release()
    thread.join(10)
    # No busy-handler sleep: the kernel wakes the waiter (bounded loosely for a
    # loaded machine; SQLite's own handler sleeps up to 100 ms between tries).
    assert got and got[0] - released < 1.0


def test_a_forked_child_does_not_share_the_parents_lock(database):
    lock = write_lock.for_database(database)
    read_end, write_end = os.pipe()
    with lock.held(5):
        pid = os.fork()
        if pid == 0:  # the child: its own descriptor, so it must wait for the parent
            status = 1
            try:
                child_lock = write_lock.for_database(database)
                assert child_lock is not lock
                try:
                    with child_lock.held(0.3):
                        pass
                except write_lock.WriteLockTimeout:
                    os.write(write_end, b"waited ")
                with child_lock.held(10):
                    os.write(write_end, b"took")
                status = 0
            finally:
                os._exit(status)
        time.sleep(0.8)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        said = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert said == b"waited took"
    # The child's exit did not take the parent's ability to lock with it.
    with lock.held(1):
        assert helpers.flock_held(_lock_path(database))

"""Uploads interrupted by a dead process: image back to ``queued``, partial data gone.

While an upload runs, a marker file ``$state_path/uploads/<image id>.<token>``
names the writing process (host, pid, and the pid's start time, so a reused pid
is not taken for the writer) and its store. The marker exists from before the
``queued -> saving`` write until after the upload left ``saving``. A process
killed mid-upload (``kill -9``, OOM) leaves its marker behind; :func:`recover`
finds markers whose process is gone and, when no live process has a marker for
the same image, puts the image back from ``saving`` to ``queued`` and removes
the partial file from the file store.

Who looks:
* ``glance-api`` (standalone): the master, at start-up and whenever a worker exits;
* Apache mod_wsgi and uwsgi: every application process, once a minute (``[DEFAULT]
  upload_recovery_interval``) from its first request on (:func:`watching`);
* any process, when an upload is attempted on an image stuck in ``saving``.

Passes are serialized by a lock file, so two processes never reset the same
upload. Markers of other hosts (a state directory on shared storage) are never
judged: a pid means nothing on another host.
"""

import contextlib
import fcntl
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from glance import exception
from glance import store as image_store
from glance.context import RequestContext
from glance.db.sqlalchemy import api as db_api

CONF = cfg.CONF
LOG = logging.getLogger(__name__)
LOCK_NAME = ".lock"
LOCK_WAIT = 5.0


def _directory() -> str:
    return os.path.join(os.path.abspath(CONF.state_path), "uploads")


def _start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot), None if unknown."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


@contextlib.contextmanager
def tracked(image_id: str, backend: str | None) -> Iterator[None]:
    """Mark ``image_id`` as being uploaded by this process for the duration."""
    directory = _directory()
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{image_id}.{uuid.uuid4().hex}")
    pid = os.getpid()
    with open(path, "w") as handle:
        json.dump({"pid": pid, "started": _start_time(pid), "host": socket.gethostname(),
                   "backend": backend}, handle)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _alive(pid: int, started: int | None = None) -> bool:
    """Whether ``pid`` is a running process (the one that started at ``started``). A
    zombie (killed, not yet reaped — as a worker whose master was killed too stays
    until init reaps it) counts as dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return True
    if fields[0] == "Z":
        return False
    return started is None or fields[19] == str(started)


def remove_partial_file(image_id: str, backend: str | None) -> None:
    """Delete what a dead upload left in a file store (or an S3 store: its multipart
    uploads and object, glance/s3_store.py)."""
    try:
        driver = image_store._driver(backend or image_store.default_backend())
    except exception.GlanceException:
        return
    image_store.remove_partial(image_id, backend)
    directories = [getattr(driver, "datadir", None)]
    directories += [d for paths in getattr(driver, "priority_data_map", {}).values()
                    for d in paths]
    for directory in filter(None, directories):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(directory, image_id))
            LOG.warning("Removed partial data of interrupted upload %s from %s",
                        image_id, directory)


@contextlib.contextmanager
def _pass_lock(directory: str, wait: float) -> Iterator[bool]:
    """The recovery lock of ``directory``; yields False when busy for ``wait`` s."""
    with open(os.path.join(directory, LOCK_NAME), "a") as handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.05)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _markers(directory: str, image_id: str | None) -> dict[str, list[tuple[str, dict]]]:
    """image id -> [(marker path, marker)] of readable markers (of this host)."""
    host = socket.gethostname()
    found: dict[str, list[tuple[str, dict]]] = {}
    for name in os.listdir(directory):
        owner = name.split(".", 1)[0]
        if name.startswith(".") or (image_id is not None and owner != image_id):
            continue
        path = os.path.join(directory, name)
        try:
            with open(path) as handle:
                marker = json.load(handle)
            marker["pid"] = int(marker["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if marker.get("host", host) == host:
            found.setdefault(owner, []).append((path, marker))
    return found


def recover(dead_pids: set[int] | None = None, image_id: str | None = None,
            wait: float = LOCK_WAIT) -> list[str]:
    """Reset uploads whose process died (``dead_pids``, or any not running), of
    every image or only ``image_id``. Returns the image ids put back to ``queued``."""
    directory = _directory()
    try:
        if not any(not name.startswith(".") for name in os.listdir(directory)):
            return []
    except FileNotFoundError:
        return []
    with _pass_lock(directory, wait) as locked:
        if not locked:
            LOG.debug("Another process is checking for interrupted uploads")
            return []
        reset = []
        for owner, markers in _markers(directory, image_id).items():
            dead = [(path, marker) for path, marker in markers
                    if (marker["pid"] in dead_pids if dead_pids is not None
                        else not _alive(marker["pid"], marker.get("started")))]
            if not dead or len(dead) < len(markers):
                continue  # nothing to do, or a live process is uploading it
            try:
                done = _reset(owner, dead)
            except exception.StoreFailure as err:  # Ceph: the dead writer's RBD watch
                LOG.info("Interrupted upload of image %s not reset yet (tried again "
                         "later): %s", owner, err)
                continue  # its markers stay
            if done:
                reset.append(owner)
            for path, _marker in dead:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
        return reset


def _reset(image_id: str, dead: list[tuple[str, dict]]) -> bool:
    """Put ``image_id`` back to queued if it is still ``saving``; True if it was."""
    context = RequestContext(is_admin=True, roles=["admin"], overwrite=False)
    try:
        status = db_api.image_get(context, image_id)["status"]
    except exception.NotFound:
        status = None  # deleted meanwhile: its partial data may still be there
    if status not in ("saving", None):
        return False  # the upload had ended: the data (if any) is the image's
    image_store.init()
    remove_partial_file(image_id, dead[0][1].get("backend"))
    if status is None:
        return False
    pid = dead[0][1]["pid"]
    try:
        db_api.image_update(context, image_id, {"status": "queued"},
                            expected_status="saving")
    except exception.GlanceException as err:
        LOG.info("Interrupted upload of image %s: status not reset (%s)", image_id, err)
        return False
    LOG.warning("Upload of image %s was interrupted (process %d died); the image is "
                "queued again", image_id, pid)
    return True


# -- a periodic check in every application process (mod_wsgi, uwsgi) --------------------

_watcher_lock = threading.Lock()
_watcher_pid: int | None = None
_watcher_stop: threading.Event | None = None


def _watch(interval: float, stop: threading.Event) -> None:
    while True:
        try:
            recover(wait=0)
        except Exception:  # noqa: BLE001 - try again next time (database down...)
            LOG.exception("Could not check for interrupted uploads")
        if stop.wait(interval):
            return


def start_watcher() -> None:
    """Start this process's periodic check (once per process, also after a fork).

    Process-wide on purpose: one watcher thread per process, whichever app of the
    process's paste pipeline starts it.
    """
    global _watcher_pid, _watcher_stop  # noqa: PLW0603 - one watcher per process
    interval = CONF.upload_recovery_interval
    if not interval or _watcher_pid == os.getpid():
        return
    with _watcher_lock:
        if _watcher_pid == os.getpid():
            return
        _watcher_pid, _watcher_stop = os.getpid(), threading.Event()
        threading.Thread(target=_watch, args=(interval, _watcher_stop),
                         name="upload-recovery", daemon=True).start()


def stop_watcher() -> None:
    """Stop this process's periodic check (tests; a later request starts it again)."""
    global _watcher_pid  # noqa: PLW0603 - one watcher per process
    with _watcher_lock:
        if _watcher_stop is not None:
            _watcher_stop.set()
        _watcher_pid = None


def watching(app: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a WSGI app so the process serving it starts its periodic check on its
    first request (after any fork the server does)."""

    def application(environ: dict, start_response: Callable) -> Any:
        if _watcher_pid != os.getpid():
            start_watcher()
        return app(environ, start_response)

    return application

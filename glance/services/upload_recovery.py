"""Uploads interrupted by a dead process: image back to ``queued``, partial data gone.

While an upload runs, a marker file ``$state_path/uploads/<image id>`` holds the
writing process's pid and store. A process killed mid-upload (``kill -9``, OOM)
leaves the marker behind; :func:`recover` finds markers whose process is gone,
puts their image back from ``saving`` to ``queued`` and removes the partial file
from the file store. The ``glance-api`` master runs it when a worker exits and at
start-up. Markers are per host and name processes, so nodes sharing a database
never reset each other's uploads.
"""

import contextlib
import json
import os
from collections.abc import Iterator

from oslo_config import cfg
from oslo_log import log as logging

from glance import exception
from glance import store as image_store
from glance.context import RequestContext
from glance.db.sqlalchemy import api as db_api

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


def _directory() -> str:
    return os.path.join(os.path.abspath(CONF.state_path), "uploads")


@contextlib.contextmanager
def tracked(image_id: str, backend: str | None) -> Iterator[None]:
    """Mark ``image_id`` as being uploaded by this process for the duration."""
    directory = _directory()
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, image_id)
    with open(path, "w") as handle:
        json.dump({"pid": os.getpid(), "backend": backend}, handle)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a running process. A zombie (killed, not yet reaped — as a
    worker whose master was killed too stays until init reaps it) counts as dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _remove_partial_file(image_id: str, backend: str | None) -> None:
    """Delete what a dead upload left in a file store (other stores clean up)."""
    try:
        driver = image_store._driver(backend or image_store.default_backend())
    except exception.GlanceException:
        return
    directories = [getattr(driver, "datadir", None)]
    directories += [d for paths in getattr(driver, "priority_data_map", {}).values()
                    for d in paths]
    for directory in filter(None, directories):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(directory, image_id))
            LOG.warning("Removed partial data of interrupted upload %s from %s",
                        image_id, directory)


def recover(dead_pids: set[int] | None = None) -> list[str]:
    """Reset uploads whose process died (``dead_pids``, or any not running).

    Returns the image ids that were put back to ``queued``.
    """
    directory = _directory()
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    context = RequestContext(is_admin=True, roles=["admin"], overwrite=False)
    reset: list[str] = []
    for image_id in names:
        path = os.path.join(directory, image_id)
        try:
            with open(path) as handle:
                marker = json.load(handle)
            pid = int(marker["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if (pid not in dead_pids) if dead_pids is not None else _alive(pid):
            continue
        image_store.init()
        _remove_partial_file(image_id, marker.get("backend"))
        try:
            db_api.image_update(context, image_id, {"status": "queued"},
                                expected_status="saving")
            reset.append(image_id)
            LOG.warning("Upload of image %s was interrupted (process %d died); the "
                        "image is queued again", image_id, pid)
        except exception.GlanceException as err:
            LOG.info("Interrupted upload of image %s: status not reset (%s)", image_id, err)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    return reset

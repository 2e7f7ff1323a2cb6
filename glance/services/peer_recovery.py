"""Uploads interrupted by the death of another API node: reset by the survivors.

A node's own dead processes are found through its upload markers
(glance/services/upload_recovery.py), which name a pid and so mean nothing on
another machine. Across nodes, the uploading node is recorded in the database
instead (``os_glance_upload_host``, its ``[DEFAULT] worker_self_reference_url``,
glance/db/sqlalchemy/upload_api.py). Every node looks, every
``upload_recovery_interval`` seconds and whenever an upload is attempted on an
image stuck in ``saving``, for ``saving`` images uploaded by another node; when
that node does not answer ``GET /healthcheck`` twice in a row (connection refused
or timed out), the partial data leaves every store of the node (a file, an RBD
image, S3 multipart uploads) and the image goes back to ``queued``; a store that
refuses (Ceph keeps a dead writer's watch on its RBD image for
``osd_client_watch_timeout``) leaves the image ``saving`` until a later pass.
A node that answers is left alone: it resets its own dead uploads
(its master at start-up and when a worker exits).

A node that is alive but unreachable from the others (a network partition) is
taken for dead: its upload in progress then fails when it tries to activate the
image. Give the nodes a network path to each other's ``worker_self_reference_url``.
"""

import functools
import os
import threading
import time

import requests
from oslo_config import cfg
from oslo_db import exception as db_exc
from oslo_log import log as logging

from glance import exception
from glance import store as image_store
from glance.db.sqlalchemy import upload_api
from glance.services import stage_host, upload_recovery

CONF = cfg.CONF
LOG = logging.getLogger(__name__)
PROBE_TIMEOUT = (1.0, 2.0)
PROBE_PAUSE = 0.5


def upload_host() -> str | None:
    """The URL to record as the uploader of the images this node writes (recorded
    with the change to ``saving``), or None when it has none."""
    return CONF.worker_self_reference_url or None


def unmark(image_id: str, host: str | None) -> None:
    """The upload of ``image_id`` by ``host`` ended (a failure here only leaves a
    hidden property on an image that is no longer ``saving``)."""
    if not host:
        return
    try:
        upload_api.unmark(image_id, host)
    except Exception as err:  # noqa: BLE001 - the upload itself is done
        LOG.warning("Image %s: upload host not cleared: %s", image_id, err)


def _answers(host: str) -> bool:
    try:
        requests.get(host.rstrip("/") + "/healthcheck", timeout=PROBE_TIMEOUT)
    except (requests.ConnectionError, requests.Timeout):
        return False
    return True  # any answer, even 503 (its database is down): the node lives


def node_gone(host: str) -> bool:
    """Whether ``host`` failed two probes in a row."""
    if _answers(host):
        return False
    time.sleep(PROBE_PAUSE)
    return not _answers(host)


def _remove_data(image_id: str) -> None:
    """Remove the partial data of ``image_id`` from every store of this node: the
    upload may have gone to any of them (``X-Image-Meta-Store``), and an image in
    ``saving`` has data in no store yet."""
    image_store.init()
    backends: list[str | None] = [*image_store.store_ids()] or [None]
    for backend in backends:
        upload_recovery.remove_partial_file(image_id, backend)


def recover(image_id: str | None = None) -> list[str]:
    """Reset the uploads (of every image, or of ``image_id``) of nodes that are gone;
    returns the image ids put back to ``queued``."""
    me = stage_host.self_url()
    verdicts: dict[str, bool] = {}
    reset = []
    for found_id, host in upload_api.uploads_elsewhere(me, image_id):
        if host not in verdicts:
            verdicts[host] = node_gone(host)
        if not verdicts[host]:
            continue
        try:
            done = upload_api.reset(found_id, host, functools.partial(_remove_data, found_id))
        except (exception.StoreFailure, db_exc.DBDeadlock) as err:
            # The dead writer's RBD watch; or (Galera) another node reset it at the
            # same moment: FOR UPDATE locks one node only, certification refuses one.
            LOG.info("Interrupted upload of image %s (node %s is gone) not reset yet: "
                     "%s", found_id, host, err)
            continue
        if done:
            LOG.warning("Upload of image %s was interrupted (node %s is gone); the image "
                        "is queued again", found_id, host)
            reset.append(found_id)
    return reset


# -- the periodic check of every application process -----------------------------------

_lock = threading.Lock()
_pid: int | None = None


def _watch(interval: float) -> None:
    while True:
        time.sleep(interval)
        try:
            recover()
        except Exception:  # noqa: BLE001 - try again next time (database down...)
            LOG.exception("Could not check for uploads of nodes that are gone")


def start_watcher() -> None:
    """Start this process's periodic check (once per process, after any fork), when
    this node has a ``worker_self_reference_url`` and the interval is not 0."""
    global _pid  # noqa: PLW0603 - one watcher per process
    interval = CONF.upload_recovery_interval
    if not interval or not CONF.worker_self_reference_url or _pid == os.getpid():
        return
    with _lock:
        if _pid == os.getpid():
            return
        _pid = os.getpid()
        threading.Thread(target=_watch, args=(interval,), name="peer-upload-recovery",
                         daemon=True).start()

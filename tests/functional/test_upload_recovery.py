"""Upload recovery (glance.services.upload_recovery) on the in-process app: which
markers reset an image, which never do, the reset on a new upload attempt, and the
periodic check of mod_wsgi/uwsgi processes."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from oslo_config import cfg

from glance.context import RequestContext
from glance.db.sqlalchemy import api as db_api
from glance.services import upload_recovery
from tests import helpers

CONF = cfg.CONF
OCTET = {"Content-Type": "application/octet-stream"}
ADMIN = RequestContext(is_admin=True, roles=["admin"], overwrite=False)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


_created: list[str] = []


@pytest.fixture(autouse=True)
def _clean_up(app):
    """Leave no image of these tests behind in the shared database (other tiers check
    that nothing stays ``saving``)."""
    yield
    while _created:
        image_id = _created.pop()
        try:
            db_api.image_update(ADMIN, image_id, {"status": "queued"},
                                expected_status="saving")
        except Exception:  # noqa: BLE001 - not saving (any more)
            pass
        app.delete(f"/v2/images/{image_id}", headers=helpers.ADMIN, expect_errors=True)


def _saving_image(app) -> str:
    image_id = app.post_json("/v2/images", {"name": "r", "disk_format": "raw",
                                            "container_format": "bare"},
                             headers=helpers.MEMBER).json["id"]
    _created.append(image_id)
    db_api.image_update(ADMIN, image_id, {"status": "saving"}, expected_status="queued")
    return image_id


def _marker(image_id: str, pid: int, **extra) -> Path:
    directory = Path(CONF.state_path) / "uploads"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{image_id}.{uuid.uuid4().hex}"
    started = upload_recovery._start_time(pid)
    path.write_text(json.dumps({"pid": pid, "started": started,
                                "host": socket.gethostname(), "backend": None, **extra}))
    return path


def _partial_file(image_id: str) -> Path:
    path = Path(CONF.glance_store.filesystem_store_datadir) / image_id
    path.write_bytes(b"partial")
    return path


def _status(image_id: str) -> str:
    return db_api.image_get(ADMIN, image_id)["status"]


def test_dead_uploader_is_reset(app):
    image_id = _saving_image(app)
    marker, partial = _marker(image_id, _dead_pid()), _partial_file(image_id)
    assert upload_recovery.recover() == [image_id]
    assert _status(image_id) == "queued"
    assert not marker.exists() and not partial.exists()


def test_live_uploader_is_left_alone(app):
    image_id = _saving_image(app)
    marker, partial = _marker(image_id, os.getpid()), _partial_file(image_id)
    assert upload_recovery.recover() == []
    assert _status(image_id) == "saving" and marker.exists() and partial.exists()
    marker.unlink()


def test_a_live_marker_of_the_same_image_wins(app):
    """A dead process that only tried to upload (its compare-and-set lost) must not
    reset the upload another, live, process is doing."""
    image_id = _saving_image(app)
    live, dead = _marker(image_id, os.getpid()), _marker(image_id, _dead_pid())
    assert upload_recovery.recover() == []
    assert _status(image_id) == "saving" and dead.exists()
    live.unlink()
    assert upload_recovery.recover() == [image_id]
    assert not dead.exists()


def test_reused_pid_is_not_the_uploader(app):
    image_id = _saving_image(app)
    marker = _marker(image_id, os.getpid())
    data = json.loads(marker.read_text())
    marker.write_text(json.dumps({**data, "started": data["started"] - 1}))
    assert upload_recovery.recover() == [image_id]


def test_upload_that_had_ended_keeps_its_data(app):
    """A process that died after the upload finished: its image's data stays."""
    image_id = app.post_json("/v2/images", {"name": "r", "disk_format": "raw",
                                            "container_format": "bare"},
                             headers=helpers.MEMBER).json["id"]
    app.put(f"/v2/images/{image_id}/file", b"data", headers={**helpers.MEMBER, **OCTET})
    marker = _marker(image_id, _dead_pid())
    data = Path(CONF.glance_store.filesystem_store_datadir) / image_id
    assert upload_recovery.recover() == []
    assert not marker.exists() and data.read_bytes() == b"data"
    assert _status(image_id) == "active"


def test_markers_of_other_hosts_are_not_judged(app):
    image_id = _saving_image(app)
    marker = _marker(image_id, _dead_pid(), host="another-node")
    assert upload_recovery.recover() == []
    assert marker.exists() and _status(image_id) == "saving"
    marker.unlink()


def test_new_upload_attempt_resets_a_dead_upload(app):
    image_id = _saving_image(app)
    _marker(image_id, _dead_pid())
    _partial_file(image_id)
    app.put(f"/v2/images/{image_id}/file", b"fresh", headers={**helpers.MEMBER, **OCTET},
            status=204)
    assert _status(image_id) == "active"
    assert app.get(f"/v2/images/{image_id}/file", headers=helpers.MEMBER).body == b"fresh"


def test_periodic_check_of_wsgi_processes(app, override):
    override("upload_recovery_interval", 1)
    calls = []
    wrapped = upload_recovery.watching(lambda environ, start: calls.append(1) or [b""])
    image_id = _saving_image(app)
    _marker(image_id, _dead_pid())
    try:
        wrapped({}, None)
        wrapped({}, None)
        assert calls == [1, 1]
        watchers = [t for t in threading.enumerate() if t.name == "upload-recovery"]
        assert len(watchers) == 1
        deadline = time.monotonic() + 10
        while _status(image_id) != "queued":
            assert time.monotonic() < deadline, "the periodic check did not reset it"
            time.sleep(0.1)
    finally:
        upload_recovery.stop_watcher()
    for watcher in watchers:
        watcher.join(5)
        assert not watcher.is_alive()


@pytest.mark.parametrize("content", ["not json", '{"pid": "x"}', "{}"])
def test_unreadable_markers_are_skipped(app, content):
    image_id = _saving_image(app)
    path = Path(CONF.state_path) / "uploads" / f"{image_id}.bad"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    assert upload_recovery.recover(image_id=image_id) == []
    path.unlink()

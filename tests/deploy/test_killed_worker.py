"""A WSGI worker killed with SIGKILL in the middle of an upload, under uwsgi and Apache
mod_wsgi: the image goes back to ``queued`` with no partial data while the server
keeps running (no restart), and takes a new upload."""

from __future__ import annotations

import glob
import json
import os
import signal
import socket
import time

import pytest
import requests

from tests import helpers
from tests.deploy import servers

HEADERS = helpers.ADMIN
INTERVAL = 2  # [DEFAULT] upload_recovery_interval of these servers


def _status(url: str, image_id: str) -> str:
    return requests.get(f"{url}/v2/images/{image_id}", headers=HEADERS,
                        timeout=10).json()["status"]


def _uploader_pid(deployment: servers.Deployment, image_id: str) -> int | None:
    """The pid in the upload marker of ``image_id`` (the process writing it)."""
    for path in glob.glob(str(deployment.workdir / "state" / "uploads" / f"{image_id}.*")):
        with open(path) as handle:
            return int(json.load(handle)["pid"])
    return None


def _leftovers(deployment: servers.Deployment, image_id: str) -> list[str]:
    return glob.glob(str(deployment.workdir / "state" / "**" / f"{image_id}*"),
                     recursive=True)


@pytest.mark.parametrize("name", ["uwsgi", "apache"])
def test_killed_worker_upload_is_reset_without_restart(start_deployment, name):
    deployment = start_deployment(name, config={
        "DEFAULT": {"upload_recovery_interval": INTERVAL}})
    url = deployment.url
    image_id = requests.post(f"{url}/v2/images", headers=HEADERS, json={
        "name": "killed", "disk_format": "raw", "container_format": "bare"}).json()["id"]
    sock = socket.create_connection(("127.0.0.1", deployment.port))
    path = f"{deployment.prefix}/v2/images/{image_id}/file"
    head = (f"PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {64 << 20}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items()) + "\r\n")
    sock.sendall(head.encode() + b"\1" * (1 << 20))
    try:
        assert helpers.wait_until(lambda: _status(url, image_id) == "saving", 30)
        assert helpers.wait_until(lambda: _uploader_pid(deployment, image_id) is not None, 10)
        pid = _uploader_pid(deployment, image_id)
        assert pid in deployment.worker_pids()
        os.kill(pid, signal.SIGKILL)
    finally:
        sock.close()
    started = time.monotonic()
    assert helpers.wait_until(lambda: _status(url, image_id) == "queued", 10 * INTERVAL + 20), \
        deployment.logs()
    print(f"{name}: reset {time.monotonic() - started:.1f} s after the kill")
    assert deployment.process.poll() is None  # the same server, not restarted
    assert _leftovers(deployment, image_id) == []
    response = requests.put(f"{url}/v2/images/{image_id}/file", data=b"again",
                            headers={**HEADERS, "Content-Type": "application/octet-stream"})
    assert response.status_code == 204, response.text
    assert _status(url, image_id) == "active"

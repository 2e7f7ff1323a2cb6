"""Fault injection against a real glance-api: a worker killed with SIGKILL during an
upload, the whole server killed and restarted, the database server stopped and
started under load (MariaDB, PostgreSQL), and the store's disk full."""

import glob
import os
import signal
import socket
import subprocess
import threading
import time
from collections import Counter

import psutil
import pytest
import requests

from tests import helpers
from tests.functional.db.conftest import create_database

OCTET = {"Content-Type": "application/octet-stream"}


def _create(url: str, **attrs) -> str:
    response = requests.post(f"{url}/v2/images", headers=helpers.MEMBER,
                             json={"name": "f", "disk_format": "raw",
                                   "container_format": "bare", **attrs})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _status(url: str, image_id: str) -> str:
    return requests.get(f"{url}/v2/images/{image_id}", headers=helpers.MEMBER,
                        timeout=10).json()["status"]


def _start_upload(server: helpers.Server, image_id: str) -> socket.socket:
    """Begin an upload that sends 1 MiB of a declared 64 MiB, then waits."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    head = (f"PUT /v2/images/{image_id}/file HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {64 << 20}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in helpers.MEMBER.items()) + "\r\n")
    sock.sendall(head.encode() + b"\1" * (1 << 20))
    assert helpers.wait_until(lambda: _status(server.url, image_id) == "saving", 20)
    return sock


def _leftovers(server: helpers.Server, image_id: str) -> list[str]:
    return glob.glob(str(server.state_path / "**" / f"{image_id}*"), recursive=True)


@pytest.fixture
def one_worker(start_server) -> helpers.Server:
    return start_server({"DEFAULT": {"workers": 1}}, name="faults")


def test_worker_killed_during_upload(one_worker):
    server = one_worker
    image_id = _create(server.url)
    sock = _start_upload(server, image_id)
    worker = psutil.Process(server.pid).children()[0]
    os.kill(worker.pid, signal.SIGKILL)
    sock.close()
    assert helpers.wait_until(lambda: _status(server.url, image_id) == "queued", 30)
    assert _leftovers(server, image_id) == []
    # and the image takes a new upload
    assert requests.put(f"{server.url}/v2/images/{image_id}/file", data=b"ok",
                        headers={**helpers.MEMBER, **OCTET}).status_code == 204


def test_server_killed_during_upload_recovers_at_start(one_worker):
    server = one_worker
    image_id = _create(server.url)
    sock = _start_upload(server, image_id)
    os.killpg(server.pid, signal.SIGKILL)
    server.process.wait()
    sock.close()
    assert _leftovers(server, image_id)  # the partial file and the marker
    server.start()
    assert _status(server.url, image_id) == "queued"
    assert _leftovers(server, image_id) == []


# -- store disk full ---------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs (root only), unmounted afterwards."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_store_disk_full_is_413(start_server, small_disk):
    server = start_server({"glance_store": {"filesystem_store_datadir": small_disk}},
                          name="diskfull")
    image_id = _create(server.url)
    response = requests.put(f"{server.url}/v2/images/{image_id}/file",
                            data=b"\1" * (4 << 20),
                            headers={**helpers.MEMBER, **OCTET, "Accept": "application/json"})
    assert response.status_code == 413
    assert "storage media is full" in response.json()["message"]
    assert _status(server.url, image_id) == "queued"
    assert os.listdir(small_disk) == []
    fits = _create(server.url)
    assert requests.put(f"{server.url}/v2/images/{fits}/file", data=b"\1" * 1000,
                        headers={**helpers.MEMBER, **OCTET}).status_code == 204


# -- database outage ---------------------------------------------------------------------

def _wait_port(port: int, up: bool, timeout: float = 60) -> None:
    def answers() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False
    assert helpers.wait_until(lambda: answers() == up, timeout), f"port {port} up={not up} still"


def _stop_db(backend: str) -> None:
    if backend == "mysql":
        subprocess.run(["mysqladmin", "-uroot", "shutdown"], check=True)
        _wait_port(3306, up=False)
    else:
        cluster = os.listdir("/etc/postgresql")[0]
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main",
                        "stop", "-m", "fast"], check=True)
        _wait_port(5432, up=False)


def _start_db(backend: str) -> None:
    if backend == "mysql":
        subprocess.run(["start-stop-daemon", "--start", "--oknodo", "--background",
                        "--exec", "/usr/sbin/mariadbd"], check=True)
        _wait_port(3306, up=True)
        subprocess.run(["mysqladmin", "-uroot", "--wait=30", "ping"], check=True,
                       capture_output=True)
    else:
        cluster = os.listdir("/etc/postgresql")[0]
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main",
                        "start"], check=True)
        _wait_port(5432, up=True)
        assert helpers.wait_until(lambda: subprocess.run(
            ["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0, 60)


UPLOAD = b"\1" * (1024 * 1024)


def _load(url: str, stop: threading.Event, log: list) -> None:
    """Create/upload/list in a loop; records (time, status, Retry-After, outcome)."""
    session = requests.Session()
    while not stop.is_set():
        started = time.monotonic()
        try:
            response = session.post(f"{url}/v2/images", headers=helpers.MEMBER, timeout=30,
                                    json={"name": "load", "disk_format": "raw",
                                          "container_format": "bare"})
            log.append((started, response.status_code, response.headers.get("Retry-After"),
                        "Traceback" in response.text))
            if response.status_code == 201:
                # An upload on the same keep-alive connection: a 503 sent before
                # the body is read must not leave the next request without an answer.
                started = time.monotonic()
                response = session.put(
                    f"{url}/v2/images/{response.json()['id']}/file", data=UPLOAD,
                    headers={**helpers.MEMBER, **OCTET}, timeout=30)
                log.append((started, response.status_code,
                            response.headers.get("Retry-After"),
                            "Traceback" in response.text))
            response = session.get(f"{url}/v2/images?limit=5", headers=helpers.MEMBER,
                                   timeout=30)
            log.append((started, response.status_code, response.headers.get("Retry-After"),
                        "Traceback" in response.text))
        except requests.RequestException as err:
            log.append((started, 0, None, repr(err)))
        time.sleep(0.02)


@pytest.mark.slow
@pytest.mark.db_outage  # stops a shared database server: run alone (tools/dev.py)
@pytest.mark.parametrize("backend", [
    pytest.param("mysql", marks=pytest.mark.mysql),
    pytest.param("postgresql", marks=pytest.mark.postgresql)])
def test_database_outage_under_load(start_server, tmp_path, backend):
    databases = create_database(backend, tmp_path)
    url = next(databases)
    try:
        manage = [str(helpers.ROOT / ".venv" / "bin" / "glance-manage")]
        config = helpers.write_config(tmp_path / "cfg", {"database": {"connection": url}})
        subprocess.run(manage + ["--config-file", str(config), "db", "sync"], check=True,
                       capture_output=True)
        server = start_server({"database": {"connection": url}}, name=f"outage-{backend}")
        stop, log = threading.Event(), []
        clients = [threading.Thread(target=_load, args=(server.url, stop, log))
                   for _ in range(4)]
        for client in clients:
            client.start()
        time.sleep(1.5)
        outage_start = time.monotonic()
        try:
            _stop_db(backend)
            time.sleep(3)
        finally:
            _start_db(backend)
            outage_end = time.monotonic()
            time.sleep(4)
            stop.set()
            for client in clients:
                client.join()
        during = [e for e in log if outage_start <= e[0] <= outage_end]
        outside = [e for e in log if not outage_start - 1 <= e[0] <= outage_end + 1]
        assert during, "no request was made during the outage"
        codes = Counter(e[1] for e in during)
        assert set(codes) <= {200, 201, 204, 503}, codes
        assert all(e[2] for e in during if e[1] == 503), "503 without Retry-After"
        assert not any(e[3] is True for e in log), "traceback in a body"
        failures = [e for e in outside if e[1] not in (200, 201, 204)]
        assert failures == [], failures[:5]
        after = [e for e in log if e[0] > outage_end + 1]
        assert after and all(e[1] in (200, 201, 204) for e in after)
    finally:
        next(databases, None)

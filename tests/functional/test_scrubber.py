"""``glance-scrubber`` against images deleted through a real glance-api with
``delayed_delete = True``: single store and two file stores, ``scrub_time``,
``--restore``, daemon mode and SIGTERM, store errors, locations removed from live
images, and bad input. The claim logic on MariaDB and PostgreSQL (and kill -9,
concurrent scrubbers) is in tests/functional/db/test_scrubber_db.py."""

import os
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest
import requests

from tests import helpers
from tests.functional import scrub_helpers

DATA = b"kept for the scrubber " * 200
MEMBER, ADMIN = helpers.MEMBER, helpers.ADMIN
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}


@pytest.fixture(scope="module")
def server(start_server):
    return start_server({"DEFAULT": {"delayed_delete": "True",
                                     "show_multiple_locations": "True"}},
                        name="scrubber")


@pytest.fixture(scope="module")
def multi(start_server, tmp_path_factory):
    return start_server({
        "DEFAULT": {"delayed_delete": "True", "enabled_backends": "fs1:file, fs2:file",
                    "enabled_import_methods": "glance-direct"},
        "glance_store": {"default_backend": "fs1"},
        "fs2": {"filesystem_store_datadir": str(tmp_path_factory.mktemp("scrub-fs2"))},
    }, name="scrubber-multi")


def _settings(tmp_path: Path, **values) -> Path:
    return scrub_helpers.write_ini(tmp_path / "scrub.conf", {"DEFAULT": values})


def _scrub(server, tmp_path: Path, *args: str, **values) -> subprocess.CompletedProcess:
    result = scrub_helpers.scrub(server.config_path, _settings(tmp_path, **values),
                                 args=args)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _db(server) -> sqlite3.Connection:
    return sqlite3.connect(server.state_path / "glance.sqlite", timeout=60)


def _status(server, image_id: str) -> tuple[str, list[tuple[str, int]]]:
    """The image's status and its locations' (status, deleted), from the database."""
    with _db(server) as db:
        (status,) = db.execute("SELECT status FROM images WHERE id = ?", (image_id,)).fetchone()
        locations = db.execute("SELECT status, deleted FROM image_locations "
                               "WHERE image_id = ? ORDER BY id", (image_id,)).fetchall()
    return status, locations


def _create(server, headers=MEMBER, **attrs) -> str:
    body = {"disk_format": "raw", "container_format": "bare", **attrs}
    response = requests.post(f"{server.url}/v2/images", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _uploaded(server, data: bytes = DATA, **attrs) -> tuple[str, Path]:
    """An active image with ``data``; returns its id and its data file."""
    image_id = _create(server, **attrs)
    response = requests.put(f"{server.url}/v2/images/{image_id}/file", data=data, headers={
        **MEMBER, "Content-Type": "application/octet-stream"})
    assert response.status_code == 204, response.text
    return image_id, server.state_path / "images" / image_id


def _delete(server, image_id: str) -> None:
    response = requests.delete(f"{server.url}/v2/images/{image_id}", headers=MEMBER)
    assert response.status_code == 204, response.text


def _deleted_image(server, **attrs) -> tuple[str, Path]:
    image_id, path = _uploaded(server, **attrs)
    _delete(server, image_id)
    assert _status(server, image_id) == ("pending_delete", [("pending_delete", 1)])
    assert path.read_bytes() == DATA
    return image_id, path


# -- scrubbing ----------------------------------------------------------------------------

def _deleted_hours_ago(server, image_id: str, hours: int) -> None:
    with _db(server) as db:
        db.execute("UPDATE images SET deleted_at = datetime(deleted_at, ?) WHERE id = ?",
                   (f"-{hours} hours", image_id))


def test_data_stays_until_scrub_time_has_passed(server, tmp_path):
    early, early_path = _deleted_image(server)
    _deleted_hours_ago(server, early, 2)
    late, late_path = _deleted_image(server)
    assert requests.get(f"{server.url}/v2/images/{early}", headers=ADMIN).status_code == 404

    waiting = _scrub(server, tmp_path, scrub_time=3 * 3600)
    assert waiting.returncode == 0, waiting.stderr
    assert early_path.exists() and late_path.exists()

    partial = _scrub(server, tmp_path, scrub_time=3600)
    assert partial.returncode == 0, partial.stderr
    assert not early_path.exists() and late_path.exists()
    assert _status(server, early) == ("deleted", [("deleted", 1)])
    assert _status(server, late) == ("pending_delete", [("pending_delete", 1)])
    assert f"Image {early} has been scrubbed" in partial.stderr

    rest = _scrub(server, tmp_path, scrub_time=0)
    assert rest.returncode == 0, rest.stderr
    assert not late_path.exists()
    assert _status(server, late) == ("deleted", [("deleted", 1)])
    again = _scrub(server, tmp_path)
    assert again.returncode == 0 and late not in again.stderr


def test_every_store_of_a_multi_store_image_is_scrubbed(multi, tmp_path):
    base = f"{multi.url}/v2/images"
    image_id = _create(multi)
    staged = requests.put(f"{base}/{image_id}/stage", data=DATA, headers={
        **MEMBER, "Content-Type": "application/octet-stream"})
    assert staged.status_code == 204, staged.text
    started = requests.post(f"{base}/{image_id}/import", headers=MEMBER, json={
        "method": {"name": "glance-direct"}, "all_stores": True})
    assert started.status_code == 202, started.text
    assert helpers.wait_until(lambda: requests.get(f"{base}/{image_id}", headers=MEMBER)
                              .json().get("stores") == "fs1,fs2")
    with _db(multi) as db:
        paths = [Path(url[len("file://"):]) for (url,) in db.execute(
            "SELECT value FROM image_locations WHERE image_id = ?", (image_id,))]
    assert len(paths) == 2 and all(path.read_bytes() == DATA for path in paths)
    _delete(multi, image_id)
    assert _status(multi, image_id)[0] == "pending_delete"
    assert all(path.exists() for path in paths)

    result = _scrub(multi, tmp_path)
    assert result.returncode == 0, result.stderr
    assert not any(path.exists() for path in paths)
    assert _status(multi, image_id) == ("deleted", [("deleted", 1), ("deleted", 1)])
    assert len(scrub_helpers.scrubbed_locations(result.stderr)) == 2


def test_a_location_removed_from_a_live_image_is_scrubbed(server, tmp_path):
    image_id, path = _uploaded(server)
    second = server.state_path / "images" / f"{image_id}.copy"
    second.write_bytes(DATA)
    added = requests.patch(f"{server.url}/v2/images/{image_id}", headers={**ADMIN, **PATCH},
                           json=[{"op": "add", "path": "/locations/-",
                                  "value": {"url": f"file://{second}", "metadata": {}}}])
    assert added.status_code == 200, added.text
    removed = requests.patch(f"{server.url}/v2/images/{image_id}", headers={**ADMIN, **PATCH},
                             json=[{"op": "remove", "path": "/locations/0"}])
    assert removed.status_code == 200, removed.text
    assert path.exists()  # delayed delete: the scrubber removes it

    result = _scrub(server, tmp_path)
    assert result.returncode == 0, result.stderr
    assert not path.exists() and second.read_bytes() == DATA
    image = requests.get(f"{server.url}/v2/images/{image_id}", headers=MEMBER).json()
    assert image["status"] == "active"
    assert [item["url"] for item in image["locations"]] == [f"file://{second}"]
    data = requests.get(f"{server.url}/v2/images/{image_id}/file", headers=MEMBER)
    assert data.content == DATA


def test_a_store_error_keeps_the_location_for_the_next_run(server, tmp_path):
    image_id, path = _deleted_image(server)
    path.unlink()
    path.mkdir()  # the store cannot unlink a directory: an error, not "already gone"
    (path / "blocker").write_bytes(b"x")

    failed = _scrub(server, tmp_path)
    assert failed.returncode == 0, failed.stderr  # as Glance: logged, retried next run
    assert f"Unable to scrub image {image_id}" in failed.stderr
    assert f"Image {image_id} stays pending_delete" in failed.stderr
    assert _status(server, image_id) == ("pending_delete", [("pending_delete", 1)])

    (path / "blocker").unlink()
    path.rmdir()
    path.write_bytes(DATA)
    fixed = _scrub(server, tmp_path)
    assert fixed.returncode == 0, fixed.stderr
    assert not path.exists()
    assert _status(server, image_id) == ("deleted", [("deleted", 1)])


def test_data_already_gone_counts_as_scrubbed(server, tmp_path):
    image_id, path = _deleted_image(server)
    path.unlink()
    result = _scrub(server, tmp_path)
    assert result.returncode == 0, result.stderr
    assert _status(server, image_id) == ("deleted", [("deleted", 1)])
    assert "was not found in the store" in result.stderr


# -- restore ------------------------------------------------------------------------------

def test_restore_brings_the_image_back_with_its_data(server, tmp_path):
    image_id, path = _uploaded(server, name="mistake", tags=["t1"], foo="bar")
    member = requests.post(f"{server.url}/v2/images/{image_id}/members", headers=MEMBER,
                           json={"member": helpers.PROJECT_2})
    assert member.status_code == 200, member.text
    _delete(server, image_id)

    restored = _scrub(server, tmp_path, "--restore", image_id)
    assert restored.returncode == 0, restored.stderr
    assert f"Image {image_id} restored to active with 1 location(s)" in restored.stderr
    image = requests.get(f"{server.url}/v2/images/{image_id}", headers=MEMBER).json()
    assert (image["status"], image["name"], image["tags"], image["foo"]) == (
        "active", "mistake", ["t1"], "bar")
    members = requests.get(f"{server.url}/v2/images/{image_id}/members",
                           headers=MEMBER).json()["members"]
    assert [m["member_id"] for m in members] == [helpers.PROJECT_2]
    data = requests.get(f"{server.url}/v2/images/{image_id}/file", headers=MEMBER)
    assert data.status_code == 200 and data.content == DATA
    # The scrubber leaves it alone now; deleting it again works as usual.
    assert _scrub(server, tmp_path).returncode == 0 and path.exists()
    _delete(server, image_id)
    assert _status(server, image_id)[0] == "pending_delete"


def test_restore_errors(server, tmp_path):
    active, _ = _uploaded(server)
    not_pending = _scrub(server, tmp_path, "--restore", active)
    assert not_pending.returncode == 1
    assert not_pending.stderr.strip().splitlines()[-1] == (
        f"ERROR: Image {active} cannot be restored: it is active, and only a "
        f"pending_delete image can be put back to active.")

    unknown = "00000000-0000-4000-8000-000000000000"
    missing = _scrub(server, tmp_path, "--restore", unknown)
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines()[-1] == f"ERROR: No image found with ID {unknown}"
    assert _scrub(server, tmp_path, "--restore", "not-a-uuid").returncode == 1

    scrubbed, _ = _deleted_image(server)
    assert _scrub(server, tmp_path).returncode == 0
    gone = _scrub(server, tmp_path, "--restore", scrubbed)
    assert gone.returncode == 1 and "it is deleted" in gone.stderr

    both = _scrub(server, tmp_path, "--restore", active, "--daemon")
    assert both.returncode == 1
    assert "--restore and --daemon cannot be used together" in both.stderr


# -- daemon -------------------------------------------------------------------------------

def test_daemon_wakes_up_and_stops_on_sigterm(server, tmp_path):
    log = tmp_path / "daemon.log"
    daemon = scrub_helpers.start(server.config_path, _settings(tmp_path, wakeup_time=1),
                                 log=log, args=("--daemon",))
    try:
        for _ in range(2):  # two deletes, each scrubbed by a later wake-up
            image_id, path = _deleted_image(server)
            assert helpers.wait_until(lambda p=path: not p.exists(), timeout=30), \
                log.read_text()
            assert helpers.wait_until(
                lambda i=image_id: _status(server, i)[0] == "deleted", timeout=30)
        assert daemon.poll() is None
        os.killpg(daemon.pid, signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
    finally:
        if daemon.poll() is None:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
    text = log.read_text()
    assert "Starting the scrubber daemon: wakeup_time=1" in text
    assert "Signal SIGTERM received" in text and "Scrubber daemon stopped" in text
    assert "Traceback" not in text


# -- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("values, message", [
    ({"scrub_pool_size": 0}, "scrub_pool_size"),
    ({"scrub_time": -1}, "scrub_time"),
    ({"wakeup_time": "soon"}, "wakeup_time"),
    ({"daemon": "maybe"}, "daemon"),
])
def test_bad_option_values(server, tmp_path, values, message):
    result = _scrub(server, tmp_path, **values)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]


def test_bad_command_lines(server, tmp_path):
    unknown = _scrub(server, tmp_path, "--bogus")
    assert unknown.returncode == 2 and "unrecognized arguments: --bogus" in unknown.stderr
    missing = scrub_helpers.scrub(tmp_path / "missing.conf")
    assert missing.returncode == 2
    assert missing.stderr.strip() == (
        f"ERROR: Failed to find some config files: {tmp_path / 'missing.conf'}")
    assert "Traceback" not in unknown.stderr + missing.stderr


def test_the_console_script_is_installed():
    script = Path(helpers.GLANCE_CLI).with_name("glance-scrubber")
    if not script.exists():
        pytest.skip("glance not installed into this interpreter's environment")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and "--restore <IMAGE_ID>" in result.stdout

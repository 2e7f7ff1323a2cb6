"""The tasks API against a real glance-api: a task's whole life, listing, expiry
(soft delete, hidden from list and show at once), and restart recovery."""

import hashlib
import socket
import sqlite3
import time
import uuid

import pytest
import requests

from glance.services import background
from tests import helpers
from tests.functional.http_source import DATA, HTTPSource

LOOPBACK_ALLOWED = {"import_filtering_opts": {"allowed_hosts": "127.0.0.1",
                                              "allowed_ports": ""}}


@pytest.fixture(scope="module")
def tasks_server(start_server):
    return start_server(LOOPBACK_ALLOWED, name="tasks")


@pytest.fixture(scope="module")
def expiring_server(start_server):
    return start_server({**LOOPBACK_ALLOWED, "task": {"task_time_to_live": "0"}},
                        name="tasks-ttl0")


@pytest.fixture(scope="module")
def source():
    with HTTPSource() as src:
        yield src


def db(server) -> sqlite3.Connection:
    return sqlite3.connect(server.state_path / "glance.sqlite")


def create_task(server, body, headers=helpers.ADMIN) -> requests.Response:
    return requests.post(f"{server.url}/v2/tasks", json=body, headers=headers)


def import_body(url: str, name: str = "from-task") -> dict:
    return {"type": "import",
            "input": {"import_from": url, "import_from_format": "raw",
                      "image_properties": {"name": name, "disk_format": "raw",
                                           "container_format": "bare"}}}


def get_task(server, task_id, headers=helpers.ADMIN) -> requests.Response:
    return requests.get(f"{server.url}/v2/tasks/{task_id}", headers=headers)


def wait_task(server, task_id, timeout=15.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        task = get_task(server, task_id).json()
        if task["status"] in ("success", "failure") or time.monotonic() > deadline:
            return task
        time.sleep(0.05)


def test_import_task_whole_life(tasks_server, source):
    created = create_task(tasks_server, import_body(source.url("/data")))
    assert created.status_code == 201, created.text
    task = created.json()
    assert created.headers["Location"].endswith(f"/v2/tasks/{task['id']}")
    assert task["status"] in ("pending", "processing")
    assert "expires_at" not in task
    assert task["type"] == "import" and task["owner"] == helpers.PROJECT_1
    assert task["input"]["import_from"] == source.url("/data")
    assert task["request_id"] == created.headers["x-openstack-request-id"]
    done = wait_task(tasks_server, task["id"])
    assert done["status"] == "success", done
    image_id = done["result"]["image_id"]
    assert done["expires_at"] and done["expires_at"] > done["updated_at"]
    image = requests.get(f"{tasks_server.url}/v2/images/{image_id}",
                         headers=helpers.ADMIN).json()
    assert image["status"] == "active" and image["name"] == "from-task"
    assert image["checksum"] == hashlib.md5(DATA).hexdigest()
    assert image["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    data = requests.get(f"{tasks_server.url}/v2/images/{image_id}/file",
                        headers=helpers.ADMIN)
    assert data.content == DATA


def test_task_schema_and_bad_input(tasks_server):
    schema = requests.get(f"{tasks_server.url}/v2/schemas/task", headers=helpers.ADMIN)
    assert schema.status_code == 200
    assert schema.json()["properties"]["type"]["enum"] == [
        "import", "api_image_import", "location_import"]
    assert requests.get(f"{tasks_server.url}/v2/schemas/tasks",
                        headers=helpers.ADMIN).json()["name"] == "tasks"
    assert create_task(tasks_server, {"type": "bogus", "input": {}}).status_code == 400
    empty = create_task(tasks_server, {"type": "import", "input": {}})
    assert empty.status_code == 400 and "Invalid location: None" in empty.text
    refused = create_task(tasks_server, import_body("http://169.254.169.254/latest"))
    assert refused.status_code == 400 and "does not pass filtering" in refused.text


def test_member_cannot_use_tasks_api(tasks_server, source):
    refused = create_task(tasks_server, import_body(source.url("/data")), helpers.MEMBER)
    assert refused.status_code == 403 and "tasks_api_access" in refused.text
    assert requests.get(f"{tasks_server.url}/v2/tasks",
                        headers=helpers.MEMBER).status_code == 403


def test_api_image_import_type_fails_quickly(tasks_server):
    created = create_task(tasks_server, {"type": "api_image_import", "input": {}})
    assert created.status_code == 201
    done = wait_task(tasks_server, created.json()["id"])
    assert done["status"] == "failure" and done["message"]
    assert "image_id" not in done  # as Glance: shown only when set


def test_list_filters_sort_and_pages(tasks_server, source):
    ids = [create_task(tasks_server, import_body(source.url("/missing"))).json()["id"]
           for _ in range(3)]
    for task_id in ids:
        assert wait_task(tasks_server, task_id)["status"] == "failure"
    listed = requests.get(f"{tasks_server.url}/v2/tasks", headers=helpers.ADMIN).json()
    assert listed["schema"] == "/v2/schemas/tasks"
    entry = next(t for t in listed["tasks"] if t["id"] == ids[0])
    assert set(entry) == {"id", "type", "status", "owner", "created_at", "updated_at",
                          "expires_at", "self", "schema"}
    failed = requests.get(f"{tasks_server.url}/v2/tasks?status=failure&type=import",
                          headers=helpers.ADMIN).json()["tasks"]
    assert set(ids) <= {t["id"] for t in failed}
    assert all(t["status"] == "failure" for t in failed)
    page = requests.get(f"{tasks_server.url}/v2/tasks?limit=1&sort_key=created_at"
                        "&sort_dir=asc", headers=helpers.ADMIN).json()
    assert len(page["tasks"]) == 1 and "marker=" in page["next"]
    second = requests.get(tasks_server.url + page["next"], headers=helpers.ADMIN).json()
    assert second["tasks"][0]["id"] != page["tasks"][0]["id"]
    for query in ("status=bogus", "sort_key=bogus", "limit=x", f"marker={uuid.uuid4()}"):
        response = requests.get(f"{tasks_server.url}/v2/tasks?{query}",
                                headers=helpers.ADMIN)
        assert response.status_code == 400, query
    assert get_task(tasks_server, str(uuid.uuid4())).status_code == 404
    assert get_task(tasks_server, "not-a-uuid").status_code == 404


def test_expired_task_hidden_at_once_and_soft_deleted(tasks_server, source):
    task_id = create_task(tasks_server, import_body(source.url("/missing"))).json()["id"]
    assert wait_task(tasks_server, task_id)["status"] == "failure"
    with db(tasks_server) as connection:
        connection.execute("UPDATE tasks SET expires_at = '2000-01-01 00:00:00' "
                           "WHERE id = ?", (task_id,))
    # show first, with no list call in between
    assert get_task(tasks_server, task_id).status_code == 404
    with db(tasks_server) as connection:
        deleted, deleted_at = connection.execute(
            "SELECT deleted, deleted_at FROM tasks WHERE id = ?", (task_id,)).fetchone()
    assert deleted == 1 and deleted_at is not None
    listed = requests.get(f"{tasks_server.url}/v2/tasks", headers=helpers.ADMIN).json()
    assert task_id not in {t["id"] for t in listed["tasks"]}


def test_tiny_ttl_expires_on_completion(expiring_server, source):
    created = create_task(expiring_server, import_body(source.url("/data"), "ttl0"))
    assert created.status_code == 201
    task_id = created.json()["id"]
    deadline = time.monotonic() + 15
    while get_task(expiring_server, task_id).status_code == 200:
        assert time.monotonic() < deadline, "the task never expired"
        time.sleep(0.05)
    listed = requests.get(f"{expiring_server.url}/v2/tasks",
                          headers=helpers.ADMIN).json()
    assert task_id not in {t["id"] for t in listed["tasks"]}
    with db(expiring_server) as connection:
        status, deleted, expires_at = connection.execute(
            "SELECT status, deleted, expires_at FROM tasks WHERE id = ?",
            (task_id,)).fetchone()
    assert status == "success" and deleted == 1 and expires_at is not None


def test_restart_fails_interrupted_tasks(start_server):
    server = start_server(name="tasks-restart")
    image = requests.post(f"{server.url}/v2/images", headers=helpers.MEMBER,
                          json={"name": "r", "disk_format": "raw",
                                "container_format": "bare"}).json()
    staged = requests.put(f"{server.url}/v2/images/{image['id']}/stage", data=b"x" * 10,
                          headers={**helpers.MEMBER,
                                   "Content-Type": "application/octet-stream"})
    assert staged.status_code == 204
    task_id, live_id, glance_id = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    with db(server) as connection:  # as if a process died in the middle of an import
        connection.execute("UPDATE images SET status = 'importing' WHERE id = ?",
                           (image["id"],))
        for tid, runner, image_id in (
                (task_id, f"{socket.gethostname()}:999999999:1", image["id"]),
                (live_id, background.runner_id(), None),  # this test's own process
                (glance_id, None, None)):  # OpenStack Glance's, in a mixed cluster
            connection.execute(
                "INSERT INTO tasks (id, type, status, owner, image_id, runner, created_at, "
                "updated_at, deleted) VALUES (?, 'api_image_import', 'processing', ?, ?, "
                "?, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 0)",
                (tid, helpers.PROJECT_1, image_id, runner))
            connection.execute("INSERT INTO task_info (task_id, input, message) "
                               "VALUES (?, '{}', '')", (tid,))
    server.stop()
    server.start()
    task = get_task(server, task_id).json()
    assert task["status"] == "failure"
    assert "stopped before the task finished" in task["message"]
    assert get_task(server, live_id).json()["status"] == "processing"
    assert get_task(server, glance_id).json()["status"] == "processing"
    shown = requests.get(f"{server.url}/v2/images/{image['id']}",
                         headers=helpers.MEMBER).json()
    assert shown["status"] == "queued"
    assert not (server.state_path / "staging" / image["id"]).exists()

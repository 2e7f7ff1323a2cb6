"""``DELETE /v2/stores/{store_id}/{image_id}`` on a real multi-store glance-api."""

import time

import pytest
import requests

from tests import helpers

DATA = b"two stores " * 500


@pytest.fixture(scope="module")
def server(start_server, tmp_path_factory):
    return start_server({
        "DEFAULT": {"enabled_backends": "fs1:file, fs2:file, web:http",
                    "enabled_import_methods": "glance-direct"},
        "glance_store": {"default_backend": "fs1"},
        "fs2": {"filesystem_store_datadir": str(tmp_path_factory.mktemp("fs2"))},
    }, name="delete-from-store")


def _image_in_both_stores(server) -> dict:
    base = f"{server.url}/v2/images"
    image_id = requests.post(base, headers=helpers.MEMBER, json={
        "disk_format": "raw", "container_format": "bare"}).json()["id"]
    staged = requests.put(f"{base}/{image_id}/stage", data=DATA, headers={
        **helpers.MEMBER, "Content-Type": "application/octet-stream"})
    assert staged.status_code == 204, staged.text
    started = requests.post(f"{base}/{image_id}/import", headers=helpers.MEMBER, json={
        "method": {"name": "glance-direct"}, "all_stores": True})
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        image = requests.get(f"{base}/{image_id}", headers=helpers.MEMBER).json()
        if image["status"] == "active" and image.get("stores") == "fs1,fs2":
            return image
        time.sleep(0.1)
    raise AssertionError(f"import of {image_id} did not reach both stores: {image}")


def _delete(server, store: str, image_id: str, headers=helpers.ADMIN) -> requests.Response:
    return requests.delete(f"{server.url}/v2/stores/{store}/{image_id}", headers=headers)


def test_delete_from_one_store_then_the_last_is_refused(server):
    image = _image_in_both_stores(server)
    assert _delete(server, "fs1", image["id"], helpers.MEMBER).status_code == 403
    assert _delete(server, "nope", image["id"]).status_code == 404
    response = _delete(server, "fs1", image["id"])
    assert response.status_code == 204, response.text
    after = requests.get(f"{server.url}/v2/images/{image['id']}",
                         headers=helpers.MEMBER).json()
    assert after["stores"] == "fs2" and after["status"] == "active"
    assert _delete(server, "fs1", image["id"]).status_code == 404  # no data there now
    last = _delete(server, "fs2", image["id"])
    assert last.status_code == 409 and "only store" in last.text
    data = requests.get(f"{server.url}/v2/images/{image['id']}/file",
                        headers=helpers.MEMBER)
    assert data.content == DATA


def test_unknown_image_and_queued_image(server):
    assert _delete(server, "fs1", "00000000-0000-4000-8000-000000000000").status_code == 404
    assert _delete(server, "fs1", "not-a-uuid").status_code == 404
    image_id = requests.post(f"{server.url}/v2/images", headers=helpers.MEMBER,
                             json={}).json()["id"]
    assert _delete(server, "fs1", image_id).status_code == 409

"""``GET /v2/cache/nodes/{image_id}`` on one node (the cluster tier covers several):
the nodes caching an image, from the centralized_db driver's shared tables."""

import pytest
import requests

from tests import helpers

TIMEOUT = 30


@pytest.fixture(scope="module")
def central(start_server, tmp_path_factory):
    port = helpers.free_port()
    return start_server({"DEFAULT": {
        "bind_port": port, "worker_self_reference_url": f"http://127.0.0.1:{port}",
        "image_cache_dir": tmp_path_factory.mktemp("central-cache"),
        "cache_prefetcher_interval": 1}}, name="cache-nodes")


def _nodes(server, image_id: str, headers=helpers.ADMIN) -> requests.Response:
    return requests.get(f"{server.url}/v2/cache/nodes/{image_id}", headers=headers,
                        timeout=TIMEOUT)


def _active_image(server) -> str:
    image_id = requests.post(f"{server.url}/v2/images", headers=helpers.MEMBER,
                             timeout=TIMEOUT, json={"name": "n", "disk_format": "raw",
                                                    "container_format": "bare"}).json()["id"]
    requests.put(f"{server.url}/v2/images/{image_id}/file", data=b"n" * 4096,
                 headers={**helpers.MEMBER, "Content-Type": "application/octet-stream"},
                 timeout=TIMEOUT).raise_for_status()
    return image_id


def test_lists_this_node_once_the_image_is_cached(central):
    image_id = _active_image(central)
    assert _nodes(central, image_id).json() == []
    assert requests.put(f"{central.url}/v2/cache/{image_id}", headers=helpers.ADMIN,
                        timeout=TIMEOUT).status_code == 202
    assert helpers.wait_until(lambda: _nodes(central, image_id).json() == [central.url])
    listed = requests.get(f"{central.url}/v2/cache", headers=helpers.ADMIN,
                          timeout=TIMEOUT).json()["cached_images"]
    entry = next(e for e in listed if e["image_id"] == image_id)
    assert entry["size"] == 4096 and entry["hits"] == 0 and entry["checksum"]
    assert requests.delete(f"{central.url}/v2/cache/{image_id}", headers=helpers.ADMIN,
                           timeout=TIMEOUT).status_code == 204
    assert _nodes(central, image_id).json() == []


@pytest.mark.parametrize("headers,status", [
    (helpers.MEMBER, 403), (helpers.READER, 403), (helpers.OTHER_MEMBER, 403)])
def test_admin_only(central, headers, status):
    response = _nodes(central, _active_image(central), headers)
    assert response.status_code == status


@pytest.mark.parametrize("image_id", ["00000000-0000-4000-8000-000000000000", "not-a-uuid",
                                      "%00"])
def test_unknown_or_malformed_image_is_404(central, image_id):
    response = _nodes(central, image_id, {**helpers.ADMIN, "Accept": "application/json"})
    assert response.status_code == 404
    assert response.json()["code"].startswith("404")


def test_no_body_and_get_only(central):
    image_id = _active_image(central)
    with_body = requests.get(f"{central.url}/v2/cache/nodes/{image_id}", data=b"{}",
                             headers={**helpers.ADMIN, "Content-Type": "application/json"},
                             timeout=TIMEOUT)
    assert with_body.status_code == 400
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        response = requests.request(method, f"{central.url}/v2/cache/nodes/{image_id}",
                                    headers=helpers.ADMIN, timeout=TIMEOUT)
        assert response.status_code == 405, method
        assert response.headers["Allow"] == "GET"


def test_another_driver_is_409(start_server, tmp_path_factory):
    server = start_server({"DEFAULT": {
        "image_cache_dir": tmp_path_factory.mktemp("sqlite-cache"),
        "image_cache_driver": "sqlite"}}, name="cache-nodes-sqlite")
    response = _nodes(server, _active_image(server), {**helpers.ADMIN,
                                                      "Accept": "application/json"})
    assert response.status_code == 409
    assert response.json()["message"] == "Centralized caching is not enabled"


def test_no_cache_is_404(server):
    response = _nodes(server, _active_image(server))
    assert response.status_code == 404

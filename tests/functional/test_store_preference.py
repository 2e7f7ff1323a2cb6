"""Which copy a download reads, against a real glance-api with two file stores:
``[<store>] weight`` orders an image's locations (heaviest first: the one read,
the ``direct_url``, the order of ``locations``), and
``GET /v2/images/{id}/file?prefer=<store ids>`` (policy ``download_from_store``)
reads a preferred store's copy first, as in Glance 33."""

import json

import pytest
import requests

from tests import helpers

OCTET = {"Content-Type": "application/octet-stream"}
SIZE = 4096


@pytest.fixture(scope="module")
def stores(start_server, tmp_path_factory):
    root = tmp_path_factory.mktemp("weights")
    policy = root / "policy.yaml"
    policy.write_text(json.dumps({"download_from_store": "role:admin"}))
    server = start_server({
        "DEFAULT": {"enabled_backends": "light:file, heavy:file",
                    "enabled_import_methods": "glance-direct,copy-image",
                    "show_multiple_locations": "true", "show_image_direct_url": "true"},
        "glance_store": {"default_backend": "light"},
        "light": {"filesystem_store_datadir": str(root / "light"), "weight": "0"},
        "heavy": {"filesystem_store_datadir": str(root / "heavy"), "weight": "100"},
        "oslo_policy": {"policy_file": str(policy)},
    }, name="weights")
    return server, root


@pytest.fixture(scope="module")
def copied(stores):
    """An image in both stores; each store's file rewritten with its own letter."""
    server, root = stores
    image_id = _in_both_stores(server, b"x" * SIZE)
    for name in ("light", "heavy"):
        (root / name / image_id).write_bytes(name[0].upper().encode() * SIZE)
    return server, image_id


def _in_both_stores(server, data: bytes) -> str:
    """A new image holding ``data``, uploaded to light and copied to heavy; its id."""
    created = requests.post(f"{server.url}/v2/images", headers=helpers.ADMIN,
                            json={"disk_format": "raw", "container_format": "bare"})
    image_id = created.json()["id"]
    assert requests.put(f"{server.url}/v2/images/{image_id}/file", data=data,
                        headers={**helpers.ADMIN, **OCTET}).status_code == 204
    started = requests.post(f"{server.url}/v2/images/{image_id}/import",
                            headers=helpers.ADMIN,
                            json={"method": {"name": "copy-image"}, "stores": ["heavy"]})
    assert started.status_code == 202, started.text
    assert helpers.wait_until(lambda: set(_show(server, image_id)["stores"].split(","))
                              == {"light", "heavy"}, timeout=30)
    return image_id


def _show(server, image_id: str) -> dict:
    return requests.get(f"{server.url}/v2/images/{image_id}", headers=helpers.ADMIN).json()


def _download(server, image_id: str, query: str = "", headers=helpers.ADMIN):
    return requests.get(f"{server.url}/v2/images/{image_id}/file{query}",
                        headers={**headers, "Accept": "application/json"}, timeout=30)


def test_the_heaviest_store_comes_first(copied):
    server, image_id = copied
    image = _show(server, image_id)
    assert [loc["metadata"]["store"] for loc in image["locations"]] == ["heavy", "light"]
    assert image["direct_url"] == image["locations"][0]["url"]
    assert image["stores"] == "heavy,light"
    assert _download(server, image_id).content == b"H" * SIZE


@pytest.mark.parametrize(("query", "letter"), [
    ("?prefer=light", b"L"), ("?prefer=heavy", b"H"), ("?prefer=%20light%20,", b"L"),
    ("?prefer=light,heavy", b"H"),  # both preferred: weight order, as in Glance
    ("?prefer=", b"H"), ("?prefer=,%20,", b"H"),  # no store named: no preference
])
def test_prefer_reads_a_preferred_store_first(copied, query, letter):
    server, image_id = copied
    response = _download(server, image_id, query)
    assert response.status_code == 200, response.text
    assert response.content == letter * SIZE


@pytest.mark.parametrize("query", ["?prefer=nowhere", "?prefer=light,nowhere",
                                   "?prefer=os_glance_staging_store"])
def test_prefer_naming_an_unknown_store_is_400(copied, query):
    server, image_id = copied
    response = _download(server, image_id, query)
    assert response.status_code == 400, response.text
    assert "is not configured" in response.json()["message"]


def test_prefer_needs_download_from_store(copied):
    server, image_id = copied
    requests.patch(f"{server.url}/v2/images/{image_id}", headers={
        **helpers.ADMIN, "Content-Type": "application/openstack-images-v2.1-json-patch"},
        data=json.dumps([{"op": "replace", "path": "/visibility", "value": "public"}]))
    member = helpers.OTHER_MEMBER
    assert _download(server, image_id, headers=member).content == b"H" * SIZE
    denied = _download(server, image_id, "?prefer=light", headers=member)
    assert denied.status_code == 403, denied.text
    assert _download(server, image_id, "?prefer=", headers=member).status_code == 200


def test_an_image_without_data_ignores_prefer(stores):
    server, _ = stores
    image_id = requests.post(f"{server.url}/v2/images", headers=helpers.ADMIN,
                             json={}).json()["id"]
    assert _download(server, image_id, "?prefer=light").status_code == 204
    assert _download(server, image_id, "?prefer=nowhere").status_code == 400


def test_prefer_without_multi_store_is_400(server):
    image_id = requests.post(f"{server.url}/v2/images", headers=helpers.MEMBER,
                             json={"disk_format": "raw", "container_format": "bare"}
                             ).json()["id"]
    requests.put(f"{server.url}/v2/images/{image_id}/file", data=b"d" * 10,
                 headers={**helpers.MEMBER, **OCTET})
    response = _download(server, image_id, "?prefer=light", headers=helpers.MEMBER)
    assert response.status_code == 400, response.text
    assert "multiple backends are not enabled" in response.json()["message"]
    assert _download(server, image_id, headers=helpers.MEMBER).content == b"d" * 10


def test_a_copy_whose_data_is_gone_passes_the_download_to_the_next(stores):
    server, root = stores
    data = bytes(range(256)) * (SIZE // 256)
    image_id = _in_both_stores(server, data)
    (root / "heavy" / image_id).unlink()  # the copy read first
    response = _download(server, image_id)
    assert response.status_code == 200 and response.content == data
    ranged = requests.get(f"{server.url}/v2/images/{image_id}/file", timeout=30,
                          headers={**helpers.ADMIN, "Range": "bytes=10-19"})
    assert ranged.status_code == 206 and ranged.content == data[10:20]
    assert requests.get(f"{server.url}/v2/images/{image_id}/file?prefer=heavy",
                        headers=helpers.ADMIN, timeout=30).content == data
    (root / "light" / image_id).unlink()  # no copy left: nothing to send, as Glance
    gone = _download(server, image_id)
    assert gone.status_code == 204 and gone.content == b"", gone.text
    ranged = requests.get(f"{server.url}/v2/images/{image_id}/file", timeout=30,
                          headers={**helpers.ADMIN, "Range": "bytes=10-19"})
    assert ranged.status_code < 500, ranged.text

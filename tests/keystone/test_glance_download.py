"""The glance-download import method between two regions of one real Keystone.

Region "RegionRemote" runs its own glance-api (own database and store),
registered in the catalog; the importing glance-api finds it in the caller's
service catalog and calls it with the caller's token.
"""

import hashlib
import time

import pytest
import requests

from tests.keystone import harness
from tests.keystone.conftest import SERVICE_PASSWORD

REMOTE_REGION = "RegionRemote"
DATA = bytes(range(256)) * 2048 + b"remote"  # 512 KiB + 6 bytes
SHA512 = hashlib.sha512(DATA).hexdigest()


def _sections(keystone) -> dict:
    return {
        "DEFAULT": {"enabled_import_methods": "[glance-direct,glance-download]"},
        "import_filtering_opts": {"allowed_hosts": "127.0.0.1", "allowed_ports": ""},
        "paste_deploy": {"flavor": "keystone"},
        "keystone_authtoken": {
            "www_authenticate_uri": keystone.url, "auth_url": keystone.url,
            "auth_type": "password", "username": "glance", "password": SERVICE_PASSWORD,
            "project_name": "service", "user_domain_id": "default",
            "project_domain_id": "default", "region_name": harness.REGION,
        },
    }


@pytest.fixture(scope="module")
def remote(start_server, keystone, identities, admin_client):
    """The other region's glance-api, in the catalog under REMOTE_REGION."""
    server = start_server(_sections(keystone), name="glance-remote-region")
    admin_client.regions.create(id=REMOTE_REGION)
    service = admin_client.services.create(name="glance-remote", type="image")
    for interface in ("public", "internal"):
        admin_client.endpoints.create(service=service, url=server.url, interface=interface,
                                      region=REMOTE_REGION)
    return server


@pytest.fixture(scope="module")
def local(start_server, keystone, identities):
    """The importing glance-api (not in the catalog: it is only called directly)."""
    sections = _sections(keystone)
    sections["glance_download_properties"] = {"extra_properties": "[hw_,os_distro,trait:]"}
    return start_server(sections, name="glance-download-local")


@pytest.fixture(scope="module")
def token(identities, remote, lying_region) -> str:
    """alice-member's token, taken once every region is in the catalog (glance caches a
    token's validation, catalog included)."""
    return identities["alice-member"].token()


def _call(server, method: str, path: str, token: str, **kwargs) -> requests.Response:
    headers = {"X-Auth-Token": token, **kwargs.pop("headers", {})}
    return requests.request(method, server.url + path, headers=headers, timeout=30,
                            **kwargs)


def _create(server, token: str, **attrs) -> str:
    body = {"disk_format": "raw", "container_format": "bare", **attrs}
    response = _call(server, "POST", "/v2/images", token, json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture(scope="module")
def source(remote, token) -> dict:
    """An active image in the remote region, with properties to carry or not."""
    image_id = _create(remote, token, hw_cpu_cores="5", os_distro="rhel", speed="88mph",
                       **{"trait:STORAGE_DISK_SSD": "required"})
    response = _call(remote, "PUT", f"/v2/images/{image_id}/file", token, data=DATA,
                     headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 204, response.text
    return _call(remote, "GET", f"/v2/images/{image_id}", token).json()


def _import(local, token: str, image_id: str, **method) -> requests.Response:
    return _call(local, "POST", f"/v2/images/{image_id}/import", token,
                 json={"method": {"name": "glance-download", **method}})


def _wait(local, token: str, image_id: str) -> dict:
    deadline = time.monotonic() + 30
    while True:
        tasks = _call(local, "GET", f"/v2/images/{image_id}/tasks", token).json()["tasks"]
        if tasks and tasks[0]["status"] in ("success", "failure"):
            return tasks[0]
        assert time.monotonic() < deadline, tasks
        time.sleep(0.1)


def _show(local, token: str, image_id: str) -> dict:
    return _call(local, "GET", f"/v2/images/{image_id}", token).json()


def test_offered_in_discovery(local, token):
    info = _call(local, "GET", "/v2/info/import", token).json()
    assert info["import-methods"]["value"] == ["glance-direct", "glance-download"]


def test_import_from_the_other_region(local, token, source):
    image_id = _create(local, token, disk_format="iso", container_format="ovf",
                       hw_cpu_cores="1", os_distro="windows")
    response = _import(local, token, image_id, glance_image_id=source["id"],
                       glance_region=REMOTE_REGION)
    assert response.status_code == 202, response.text
    task = _wait(local, token, image_id)
    assert task["status"] == "success", task
    image = _show(local, token, image_id)
    assert image["status"] == "active"
    assert (image["disk_format"], image["container_format"]) == ("raw", "bare")
    assert image["size"] == len(DATA) and image["os_hash_value"] == SHA512
    assert image["checksum"] == source["checksum"]
    assert image["hw_cpu_cores"] == "5" and image["os_distro"] == "rhel"
    assert image["trait:STORAGE_DISK_SSD"] == "required"
    assert "speed" not in image
    data = _call(local, "GET", f"/v2/images/{image_id}/file", token)
    assert data.content == DATA


@pytest.mark.parametrize("method,message", [
    ({"glance_region": REMOTE_REGION}, "'glance_image_id' needs to be set"),
    ({"glance_image_id": "36d4b546-64a2-4bb9-bdd0-ba676aa48f2c"},
     "'glance_region' needs to be set"),
    ({"glance_image_id": "foo", "glance_region": REMOTE_REGION},
     "Remote image id does not look like a UUID: foo"),
    ({"glance_image_id": 7, "glance_region": REMOTE_REGION}, "must be a string"),
])
def test_bad_method_is_400(local, token, method, message):
    image_id = _create(local, token)
    response = _import(local, token, image_id, **method)
    assert response.status_code == 400
    assert message in response.text
    assert _show(local, token, image_id)["status"] == "queued"


def test_active_image_is_409(local, token, source):
    image_id = _create(local, token)
    assert _call(local, "PUT", f"/v2/images/{image_id}/file", token, data=b"x",
                 headers={"Content-Type": "application/octet-stream"}).status_code == 204
    response = _import(local, token, image_id, glance_image_id=source["id"],
                       glance_region=REMOTE_REGION)
    assert response.status_code == 409
    assert "Image with status active cannot be target for import" in response.text


@pytest.mark.parametrize("method", [
    {"glance_image_id": "36d4b546-64a2-4bb9-bdd0-ba676aa48f2c",
     "glance_region": "not a region", "glance_service_interface": "not an interface"},
    {"glance_image_id": "36d4b546-64a2-4bb9-bdd0-ba676aa48f2c",
     "glance_region": REMOTE_REGION},  # no such image there
], ids=["bad-endpoint", "missing-image"])
def test_failure_puts_the_image_back(local, token, method):
    image_id = _create(local, token, hw_cpu_cores="1", os_distro="windows")
    assert _import(local, token, image_id, **method).status_code == 202
    task = _wait(local, token, image_id)
    assert task["status"] == "failure"
    image = _show(local, token, image_id)
    assert image["status"] == "queued"
    assert image["hw_cpu_cores"] == "1" and image["os_distro"] == "windows"
    assert image["disk_format"] == "raw"


def test_source_not_active_fails(local, remote, token):
    queued = _create(remote, token)
    image_id = _create(local, token)
    assert _import(local, token, image_id, glance_image_id=queued,
                   glance_region=REMOTE_REGION).status_code == 202
    task = _wait(local, token, image_id)
    assert task["status"] == "failure"
    assert "Source image status should be active instead of queued" in task["message"]
    assert _show(local, token, image_id)["status"] == "queued"


@pytest.fixture(scope="module")
def lying_region(admin_client, identities):
    """A region whose "Glance" sends other bytes than its record's hashes say: a peer
    real Glance cannot be made to be, so a small HTTP server plays it."""
    import http.server  # noqa: PLC0415
    import json  # noqa: PLC0415
    import threading  # noqa: PLC0415

    image_id = "5e1f0a52-3d2c-4c3b-9a57-6f1d2f0b9e11"
    record = {"id": image_id, "status": "active", "disk_format": "raw",
              "container_format": "bare", "size": len(DATA), "os_hash_algo": "sha512",
              "os_hash_value": SHA512, "checksum": hashlib.md5(DATA).hexdigest()}

    class Liar(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            body = (b"y" * len(DATA) if self.path.endswith("/file")
                    else json.dumps(record).encode())
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Liar)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    admin_client.regions.create(id="RegionLiar")
    service = admin_client.services.create(name="glance-liar", type="image")
    admin_client.endpoints.create(service=service, interface="public", region="RegionLiar",
                                  url=f"http://127.0.0.1:{httpd.server_address[1]}")
    yield image_id
    httpd.shutdown()


def test_data_that_does_not_match_the_remote_hash_is_refused(local, token, lying_region):
    image_id = _create(local, token)
    assert _import(local, token, image_id, glance_image_id=lying_region,
                   glance_region="RegionLiar").status_code == 202
    task = _wait(local, token, image_id)
    assert task["status"] == "failure"
    assert "does not match the remote image's sha512 hash" in task["message"]
    image = _show(local, token, image_id)
    assert image["status"] == "queued" and image["size"] is None

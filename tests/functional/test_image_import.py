"""Interoperable import against a real glance-api: stage + glance-direct, web-download
from a local HTTP server, refused URLs (SSRF guard), failures leaving nothing
staged, multi-store import and copy-image, discovery, and the python clients."""

import hashlib
import json
import os
import time

import openstack
import pytest
import requests

from tests import helpers
from tests.functional.http_source import DATA, HTTPSource

OCTET = {"Content-Type": "application/octet-stream"}
STAGED = b"staged bytes " * 1000
LOOPBACK_ALLOWED = {"import_filtering_opts": {"allowed_hosts": "127.0.0.1",
                                              "allowed_ports": ""}}


@pytest.fixture(scope="module")
def web_server(start_server):
    return start_server(LOOPBACK_ALLOWED, name="import-web")


@pytest.fixture(scope="module")
def multi_server(start_server, tmp_path_factory):
    other = tmp_path_factory.mktemp("import-store2")
    return start_server({
        "DEFAULT": {"enabled_backends": "fs1:file, fs2:file, web:http",
                    "enabled_import_methods": "glance-direct,web-download,copy-image"},
        "glance_store": {"default_backend": "fs1"},
        "fs1": {"store_description": "Fast store"},
        "fs2": {"filesystem_store_datadir": str(other)},
    }, name="import-multi")


@pytest.fixture(scope="module")
def source():
    with HTTPSource() as src:
        yield src


def create(server, headers=helpers.MEMBER) -> str:
    response = requests.post(f"{server.url}/v2/images", headers=headers,
                             json={"name": "imp", "disk_format": "raw",
                                   "container_format": "bare"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def stage(server, image_id, data=STAGED, headers=helpers.MEMBER) -> requests.Response:
    return requests.put(f"{server.url}/v2/images/{image_id}/stage", data=data,
                        headers={**headers, **OCTET})


def start_import(server, image_id, body, headers=helpers.MEMBER) -> requests.Response:
    return requests.post(f"{server.url}/v2/images/{image_id}/import", json=body,
                         headers=headers)


def show(server, image_id, headers=helpers.MEMBER) -> dict:
    response = requests.get(f"{server.url}/v2/images/{image_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def image_tasks(server, image_id, headers=helpers.MEMBER) -> list[dict]:
    response = requests.get(f"{server.url}/v2/images/{image_id}/tasks", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["tasks"]


def wait_import(server, image_id, timeout=15.0, headers=helpers.MEMBER) -> dict:
    """The image once its import task has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tasks = image_tasks(server, image_id, headers)
        if tasks and tasks[-1]["status"] in ("success", "failure"):
            return show(server, image_id, headers)
        time.sleep(0.05)
    raise AssertionError(f"import of {image_id} did not end")


def staged_files(server) -> list[str]:
    staging = server.state_path / "staging"
    return sorted(os.listdir(staging)) if staging.exists() else []


# -- glance-direct -----------------------------------------------------------------------

def test_glance_direct_import(server):
    image_id = create(server)
    early = start_import(server, image_id, {"method": {"name": "glance-direct"}})
    assert early.status_code == 409 and "needs to be staged" in early.text
    assert stage(server, image_id).status_code == 204
    staged = show(server, image_id)
    assert staged["status"] == "uploading" and staged["size"] == len(STAGED)
    assert staged["checksum"] is None
    again = stage(server, image_id)
    assert again.status_code == 409 and "uploading to uploading" in again.text
    response = start_import(server, image_id, {"method": {"name": "glance-direct"}})
    assert response.status_code == 202 and response.content == b""
    image = wait_import(server, image_id)
    assert image["status"] == "active"
    assert image["checksum"] == hashlib.md5(STAGED).hexdigest()
    assert image["os_hash_algo"] == "sha512"
    assert image["os_hash_value"] == hashlib.sha512(STAGED).hexdigest()
    assert image["size"] == len(STAGED)
    task = image_tasks(server, image_id)[-1]
    assert task["type"] == "api_image_import" and task["status"] == "success"
    assert task["result"] == {"image_id": image_id}
    assert "os_glance_import_task" not in image  # the lock goes with the import, as in Glance
    assert image["os_glance_failed_import"] == ""
    assert response.headers["x-openstack-request-id"] == task["request_id"]
    assert image_id not in staged_files(server)
    data = requests.get(f"{server.url}/v2/images/{image_id}/file", headers=helpers.MEMBER)
    assert data.content == STAGED
    active = start_import(server, image_id, {"method": {"name": "glance-direct"}})
    assert active.status_code == 409 and "status active" in active.text
    assert stage(server, image_id).status_code == 409


NO_CONTAINER = "'container_format' needs to be set before import"
NO_DISK = "'disk_format' needs to be set before import"
JSON = {"Accept": "application/json"}


def create_without_formats(server, **attrs) -> str:
    response = requests.post(f"{server.url}/v2/images", headers=helpers.MEMBER,
                             json={"name": "imp", **attrs})
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.mark.parametrize(("attrs", "expected"), [
    ({}, NO_CONTAINER), ({"disk_format": "raw"}, NO_CONTAINER),
    ({"container_format": "bare"}, NO_DISK)], ids=["neither", "disk-only", "container-only"])
def test_stage_without_formats_then_import_is_409(server, attrs, expected):
    """As Glance 33: staging needs no formats, importing does (the container first)."""
    image_id = create_without_formats(server, **attrs)
    assert stage(server, image_id).status_code == 204
    response = start_import(server, image_id, {"method": {"name": "glance-direct"}},
                            headers={**helpers.MEMBER, **JSON})
    assert response.status_code == 409, response.text
    assert response.json()["message"] == expected
    image = show(server, image_id)
    assert (image["status"], image["size"]) == ("uploading", len(STAGED))
    assert image_tasks(server, image_id) == []
    assert image_id in staged_files(server)  # kept, as Glance keeps it


def test_web_download_without_formats_is_409(web_server, source):
    image_id = create_without_formats(web_server)
    response = start_import(web_server, image_id, {
        "method": {"name": "web-download", "uri": source.url("/data")}},
        headers={**helpers.MEMBER, **JSON})
    assert response.status_code == 409, response.text
    assert response.json()["message"] == NO_CONTAINER
    assert show(web_server, image_id)["status"] == "queued"
    assert image_tasks(web_server, image_id) == []


def test_import_task_without_formats_fails_and_stores_nothing(web_server, source):
    """A tasks-API ``import`` whose image_properties lack the formats fails; its image
    stays queued without data."""
    response = requests.post(f"{web_server.url}/v2/tasks", headers=helpers.ADMIN, json={
        "type": "import", "input": {"import_from": source.url("/data"),
                                    "import_from_format": "raw",
                                    "image_properties": {"name": "task-bare"}}})
    assert response.status_code == 201, response.text
    task_id = response.json()["id"]
    deadline = time.monotonic() + 15
    while (task := requests.get(f"{web_server.url}/v2/tasks/{task_id}",
                                headers=helpers.ADMIN).json())["status"] not in (
            "success", "failure"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert task["status"] == "failure"
    assert task["message"] == ("Properties disk_format, container_format must be set "
                               "prior to saving data.")
    image = show(web_server, task["result"]["image_id"], helpers.ADMIN)
    assert (image["status"], image["size"]) == ("queued", None)
    assert not image.get("locations")


@pytest.mark.parametrize("body, message", [
    ({"method": {"name": "copy-image"}}, "Unknown import method name 'copy-image'."),
    ({"method": {"name": "bogus"}}, "Unknown import method name 'bogus'."),
    ({"method": "glance-direct"}, "'method'"),
    ({}, "'method'"),
], ids=["copy-image-single-store", "bogus-method", "method-not-object", "no-method"])
def test_bad_import_requests(server, body, message):
    image_id = create(server)
    response = start_import(server, image_id, body)
    assert response.status_code == 400 and message in response.text


def test_import_by_other_project_is_not_found(server):
    image_id = create(server)
    assert stage(server, image_id, headers=helpers.OTHER_MEMBER).status_code == 404
    response = start_import(server, image_id, {"method": {"name": "glance-direct"}},
                            helpers.OTHER_MEMBER)
    assert response.status_code == 404
    assert requests.get(f"{server.url}/v2/images/{image_id}/tasks",
                        headers=helpers.OTHER_MEMBER).status_code == 404


def test_stage_over_size_cap_leaves_nothing(start_server):
    capped = start_server({"DEFAULT": {"image_size_cap": "100"}}, name="import-cap")
    image_id = create(capped)
    response = stage(capped, image_id, data=b"x" * 1000)
    assert response.status_code == 413
    assert show(capped, image_id)["status"] == "queued"
    assert image_id not in staged_files(capped)


# -- web-download ------------------------------------------------------------------------

def test_web_download(web_server, source):
    image_id = create(web_server)
    response = start_import(web_server, image_id, {
        "method": {"name": "web-download", "uri": source.url("/data")}})
    assert response.status_code == 202, response.text
    image = wait_import(web_server, image_id)
    assert image["status"] == "active"
    assert image["checksum"] == hashlib.md5(DATA).hexdigest()
    assert image["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    assert image_id not in staged_files(web_server)


def test_web_download_follows_allowed_redirect(web_server, source):
    image_id = create(web_server)
    uri = source.url("/redirect?to=" + source.url("/data"))
    assert start_import(web_server, image_id, {
        "method": {"name": "web-download", "uri": uri}}).status_code == 202
    assert wait_import(web_server, image_id)["status"] == "active"


@pytest.mark.parametrize("target, reason", [
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://10.20.30.40/image", "host-not-allowed"),
    ("file:///etc/passwd", "scheme"),
], ids=["redirect-to-metadata", "redirect-to-unlisted-host", "redirect-to-file"])
def test_redirect_to_refused_url_fails_and_leaves_nothing(web_server, source, target,
                                                          reason):
    image_id = create(web_server)
    before = source.hits["/redirect"]
    response = start_import(web_server, image_id, {
        "method": {"name": "web-download", "uri": source.url("/redirect?to=" + target)}})
    assert response.status_code == 202
    image = wait_import(web_server, image_id)
    assert image["status"] == "queued", reason
    task = image_tasks(web_server, image_id)[-1]
    assert task["status"] == "failure" and "does not pass filtering" in task["message"]
    assert target in task["message"]
    assert source.hits["/redirect"] == before + 1
    assert image_id not in staged_files(web_server)


def test_failed_download_leaves_nothing_and_image_queued(web_server, source):
    image_id = create(web_server)
    assert start_import(web_server, image_id, {
        "method": {"name": "web-download", "uri": source.url("/missing")}}
    ).status_code == 202
    image = wait_import(web_server, image_id)
    assert image["status"] == "queued" and image["checksum"] is None
    task = image_tasks(web_server, image_id)[-1]
    assert task["status"] == "failure" and "404" in task["message"]
    assert image_id not in staged_files(web_server)
    assert not (web_server.state_path / "images" / image_id).exists()
    # the image can be imported again
    assert start_import(web_server, image_id, {
        "method": {"name": "web-download", "uri": source.url("/data")}}).status_code == 202
    assert wait_import(web_server, image_id)["status"] == "active"


@pytest.mark.parametrize("uri", [
    "http://127.0.0.1/image",
    "http://localhost/image",
    "http://[::1]/image",
    "http://2130706433/image",
    "http://0x7f.1/image",
    "http://[::ffff:127.0.0.1]/image",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/image",
    "http://0.0.0.0/image",
    "http://93.184.216.34:8080/image",
    "ftp://93.184.216.34/image",
    "file:///etc/passwd",
    "gopher://93.184.216.34/x",
    "not a url",
], ids=["loopback", "localhost", "ipv6-loopback", "decimal-loopback", "hex-loopback",
        "mapped-loopback", "metadata", "ipv6-link-local", "unspecified", "port",
        "ftp-scheme", "file-scheme", "gopher-scheme", "garbage"])
def test_default_filter_refuses(server, uri):
    image_id = create(server)
    response = start_import(server, image_id, {"method": {"name": "web-download",
                                                          "uri": uri}})
    assert response.status_code == 400
    assert f"URI for web-download does not pass filtering: {uri}" in response.text
    assert show(server, image_id)["status"] == "queued"
    assert image_tasks(server, image_id) == []


def test_allowed_hosts_refuses_other_hosts(web_server):
    image_id = create(web_server)
    response = start_import(web_server, image_id, {
        "method": {"name": "web-download", "uri": "http://10.20.30.40/image"}})
    assert response.status_code == 400 and "does not pass filtering" in response.text


def test_disallowed_hosts(app, override):
    override("disallowed_hosts", ["93.184.216.34", "blocked.example"],
             group="import_filtering_opts")
    image_id = app.post_json("/v2/images", {"name": "b", "disk_format": "raw",
                                            "container_format": "bare"},
                             headers=helpers.MEMBER).json["id"]
    for uri in ("http://93.184.216.34/image", "http://blocked.example/image"):
        response = app.post_json(f"/v2/images/{image_id}/import",
                                 {"method": {"name": "web-download", "uri": uri}},
                                 headers=helpers.MEMBER, expect_errors=True)
        assert response.status_code == 400, uri
        assert "does not pass filtering" in response.text


def test_web_download_size_cap(start_server, source):
    capped = start_server({**LOOPBACK_ALLOWED, "DEFAULT": {"image_size_cap": "1000"}},
                          name="import-web-cap")
    image_id = create(capped)
    assert start_import(capped, image_id, {
        "method": {"name": "web-download", "uri": source.url("/data")}}).status_code == 202
    image = wait_import(capped, image_id)
    assert image["status"] == "queued"
    assert "too large" in image_tasks(capped, image_id)[-1]["message"]
    assert image_id not in staged_files(capped)


# -- discovery ---------------------------------------------------------------------------

def test_discovery_single_store(server):
    info = requests.get(f"{server.url}/v2/info/import", headers=helpers.MEMBER).json()
    assert info == {"import-methods": {"description": "Import methods available.",
                                       "type": "array",
                                       "value": ["glance-direct", "web-download"]}}
    assert requests.get(f"{server.url}/v2/info/usage",
                        headers=helpers.MEMBER).json() == {"usage": {}}
    assert requests.get(f"{server.url}/v2/info/stores",
                        headers=helpers.MEMBER).status_code == 404
    created = requests.post(f"{server.url}/v2/images", json={"name": "h"},
                            headers=helpers.MEMBER)
    assert created.headers["OpenStack-image-import-methods"] == "glance-direct,web-download"
    assert "OpenStack-image-store-ids" not in created.headers


def test_discovery_multi_store(multi_server):
    stores = requests.get(f"{multi_server.url}/v2/info/stores",
                          headers=helpers.MEMBER).json()["stores"]
    assert stores[0] == {"id": "fs1", "description": "Fast store", "default": "true"}
    assert stores[2]["id"] == "web" and stores[2]["read-only"] == "true"
    assert requests.get(f"{multi_server.url}/v2/info/stores/detail",
                        headers=helpers.MEMBER).status_code == 403
    detail = requests.get(f"{multi_server.url}/v2/info/stores/detail",
                          headers=helpers.ADMIN).json()["stores"]
    assert detail[0]["type"] == "file" and "data_dir" in detail[0]["properties"]
    methods = requests.get(f"{multi_server.url}/v2/info/import",
                           headers=helpers.MEMBER).json()["import-methods"]["value"]
    assert methods == ["glance-direct", "web-download", "copy-image"]
    created = requests.post(f"{multi_server.url}/v2/images", json={"name": "h"},
                            headers=helpers.MEMBER)
    assert created.headers["OpenStack-image-store-ids"] == "fs1,fs2"


# -- multi-store -------------------------------------------------------------------------

def test_import_to_several_stores_then_copy(multi_server):
    image_id = create(multi_server)
    assert stage(multi_server, image_id).status_code == 204
    response = start_import(multi_server, image_id, {
        "method": {"name": "glance-direct"}, "stores": ["fs1"]})
    assert response.status_code == 202
    image = wait_import(multi_server, image_id)
    assert image["status"] == "active" and image["stores"] == "fs1"
    copy = start_import(multi_server, image_id, {"method": {"name": "copy-image"},
                                                 "all_stores": True}, helpers.ADMIN)
    assert copy.status_code == 202, copy.text
    image = wait_import(multi_server, image_id)
    assert image["stores"] == "fs1,fs2"
    assert image["os_glance_importing_to_stores"] == ""
    again = start_import(multi_server, image_id, {"method": {"name": "copy-image"},
                                                  "stores": ["fs2"]}, helpers.ADMIN)
    assert again.status_code == 409
    by_member = start_import(multi_server, image_id, {"method": {"name": "copy-image"},
                                                      "stores": ["fs2"]})
    assert by_member.status_code == 403


def test_import_all_stores_and_unknown_store(multi_server):
    image_id = create(multi_server)
    assert stage(multi_server, image_id).status_code == 204
    unknown = start_import(multi_server, image_id, {"method": {"name": "glance-direct"},
                                                    "stores": ["nope"]})
    assert unknown.status_code == 400
    assert start_import(multi_server, image_id, {"method": {"name": "glance-direct"},
                                                 "all_stores": True}).status_code == 202
    image = wait_import(multi_server, image_id)
    assert image["status"] == "active" and image["stores"] == "fs1,fs2"
    assert image["checksum"] == hashlib.md5(STAGED).hexdigest()


# -- clients -----------------------------------------------------------------------------

def test_glanceclient_image_create_via_import(web_server, source, tmp_path):
    path = tmp_path / "disk.raw"
    path.write_bytes(STAGED)
    out = helpers.glance_cli(web_server, "image-create-via-import", "--name", "cli-direct",
                  "--disk-format", "raw", "--container-format", "bare",
                  "--file", str(path), "--import-method", "glance-direct")
    image_id = helpers.table_field(out, "id")
    image = wait_import(web_server, image_id, headers=helpers.ADMIN)
    assert image["status"] == "active"
    assert image["checksum"] == hashlib.md5(STAGED).hexdigest()
    out = helpers.glance_cli(web_server, "image-create-via-import", "--name", "cli-web",
                  "--disk-format", "raw", "--container-format", "bare",
                  "--import-method", "web-download", "--uri", source.url("/data"))
    image = wait_import(web_server, helpers.table_field(out, "id"), headers=helpers.ADMIN)
    assert image["status"] == "active"
    assert image["checksum"] == hashlib.md5(DATA).hexdigest()


def test_glanceclient_task_create(web_server, source):
    task_input = json.dumps({"import_from": source.url("/data"), "import_from_format": "raw",
                             "image_properties": {"name": "cli-task", "disk_format": "raw",
                                                  "container_format": "bare"}})
    out = helpers.glance_cli(web_server, "task-create", "--type", "import", "--input", task_input)
    task_id = helpers.table_field(out, "id")
    deadline = time.monotonic() + 15
    while "success" not in helpers.glance_cli(web_server, "task-show", task_id):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert task_id in helpers.glance_cli(web_server, "task-list")


def test_openstacksdk_import_image(web_server, source):
    conn = openstack.connect(auth_type="none", auth={"endpoint": web_server.url},
                             image_endpoint_override=web_server.url)
    image = conn.image.create_image(name="sdk-import", disk_format="raw",
                                    container_format="bare")
    conn.image.stage_image(image, data=STAGED)
    conn.image.import_image(image, method="glance-direct")
    assert wait_import(web_server, image.id, headers=helpers.ADMIN)["status"] == "active"
    image = conn.image.create_image(name="sdk-web", disk_format="raw",
                                    container_format="bare")
    conn.image.import_image(image, method="web-download", uri=source.url("/data"))
    done = conn.image.wait_for_status(conn.image.get_image(image), status="active",
                                      wait=15, interval=0.2)
    assert done.checksum == hashlib.md5(DATA).hexdigest()

"""glance-api on a real Swift (Keystone-authenticated): the shared store data suite,
then what is stored where, and how.

One module, so that the tier starts one Keystone + Swift even under xdist's
``--dist loadfile``. The suite runs against a noauth glance (its identity headers)
with the single-tenant swift store, which still logs in to Keystone; the other
tests run glance behind keystonemiddleware with alice's token. Images below
``swift_store_large_object_size`` are one object; larger ones and uploads of
unknown size are 1 MiB segments plus a DLO manifest. Everything is checked in
Swift itself with python-swiftclient as glance's service user.
"""

import hashlib
import os
import socket

import requests
import swiftclient

from tests import helpers
from tests.stores import suite
from tests.stores.suite import StoreDataSuite
from tests.swift import conftest as swift_conf
from tests.swift import harness

MIB = 1024 * 1024


class TestSwiftData(StoreDataSuite):
    """Every suite test on Swift: segments (1 MiB) and manifests included."""


def test_store_objects_sees_segments(store_objects, glance_swift):
    """The suite's 'nothing left behind' checks are only as good as store_objects."""
    glance_swift.put_container("stray")
    glance_swift.put_object("stray", "object-00001", b"x")
    try:
        assert "stray/object-00001" in store_objects()
    finally:
        glance_swift.delete_object("stray", "object-00001")
        glance_swift.delete_container("stray")
    assert "stray/object-00001" not in store_objects()


def _logins(swift_env) -> int:
    log = swift_env.keystone.access_log
    return sum('"POST /v3/auth/tokens' in line for line in log.read_text().splitlines())


def test_single_tenant_logs_in_once_not_per_request(swift_env, store_server):
    """glance_store's driver logs in to Keystone for every add, get and delete;
    glance keeps one keystoneauth session per store credentials instead."""
    suite.active_image(store_server)  # the first login, if none happened yet
    before = _logins(swift_env)
    for _ in range(3):
        image_id = suite.active_image(store_server)
        url = f"{store_server.url}/v2/images/{image_id}"
        assert requests.get(url + "/file", headers=helpers.MEMBER, timeout=60).content \
            == suite.DATA
        assert requests.delete(url, headers=helpers.MEMBER, timeout=60).status_code == 204
    # two glance-api workers: at most one more login each
    assert _logins(swift_env) - before <= 1


def _create(server: helpers.Server, headers: dict[str, str], **extra) -> str:
    body = {"disk_format": "raw", "container_format": "bare", **extra}
    response = requests.post(f"{server.url}/v2/images", json=body, headers=headers,
                             timeout=30)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _upload(server, headers, image_id, data, chunked: bool = False):
    body = iter([data[i:i + 300_000] for i in range(0, len(data), 300_000)]) \
        if chunked else data
    return requests.put(f"{server.url}/v2/images/{image_id}/file", data=body,
                        headers={**headers, "Content-Type": "application/octet-stream"},
                        timeout=120)


def _image(server, headers, image_id) -> dict:
    return requests.get(f"{server.url}/v2/images/{image_id}", headers=headers,
                        timeout=30).json()


def test_small_image_is_one_object(keystone_server, alice_headers, glance_swift):
    data = os.urandom(100_000)
    image_id = _create(keystone_server, alice_headers)
    assert _upload(keystone_server, alice_headers, image_id, data).status_code == 204
    assert f"glance/{image_id}" in swift_conf.objects_in(glance_swift)
    headers, body = glance_swift.get_object("glance", image_id)
    assert body == data and "x-object-manifest" not in headers
    image = _image(keystone_server, alice_headers, image_id)
    assert image["status"] == "active" and image["size"] == len(data)
    assert image["checksum"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert image["os_hash_value"] == hashlib.sha512(data).hexdigest()


def _segments(conn, image_id) -> list[str]:
    return sorted(name for name in swift_conf.objects_in(conn)
                  if name.startswith(f"glance/{image_id}-"))


def test_large_image_is_segmented_and_deleted_whole(keystone_server, alice_headers,
                                                    glance_swift):
    data = os.urandom(3 * MIB + 12345)
    image_id = _create(keystone_server, alice_headers)
    assert _upload(keystone_server, alice_headers, image_id, data).status_code == 204
    assert _segments(glance_swift, image_id) == [
        f"glance/{image_id}-{n:05d}" for n in (1, 2, 3, 4)]
    headers, body = glance_swift.get_object("glance", image_id)
    assert headers["x-object-manifest"] == f"glance/{image_id}-"
    assert body == data
    download = requests.get(f"{keystone_server.url}/v2/images/{image_id}/file",
                            headers=alice_headers, timeout=60)
    assert download.status_code == 200 and download.content == data
    assert requests.delete(f"{keystone_server.url}/v2/images/{image_id}",
                           headers=alice_headers, timeout=30).status_code == 204
    assert not [name for name in swift_conf.objects_in(glance_swift) if image_id in name]


def test_unknown_size_upload_is_segmented(keystone_server, alice_headers, glance_swift):
    data = os.urandom(MIB + 777)  # below large_object_size, but nobody knew that
    image_id = _create(keystone_server, alice_headers)
    assert _upload(keystone_server, alice_headers, image_id, data,
                   chunked=True).status_code == 204
    assert _segments(glance_swift, image_id) == [
        f"glance/{image_id}-00001", f"glance/{image_id}-00002"]
    image = _image(keystone_server, alice_headers, image_id)
    assert image["size"] == len(data)
    assert image["checksum"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
    download = requests.get(f"{keystone_server.url}/v2/images/{image_id}/file",
                            headers=alice_headers, timeout=60)
    assert download.content == data


def test_ranges_are_swift_range_reads(keystone_server, alice_headers):
    data = os.urandom(3 * MIB)
    image_id = _create(keystone_server, alice_headers)
    assert _upload(keystone_server, alice_headers, image_id, data).status_code == 204
    url = f"{keystone_server.url}/v2/images/{image_id}/file"
    for spec, start, end in (("bytes=10-99", 10, 99), ("bytes=1048570-2097160",
                                                        1048570, 2097160),
                             ("bytes=-5", len(data) - 5, len(data) - 1),
                             ("bytes=3145000-", 3145000, len(data) - 1)):
        response = requests.get(url, headers={**alice_headers, "Range": spec}, timeout=60)
        assert response.status_code == 206, (spec, response.text)
        assert response.content == data[start:end + 1], spec
        assert response.headers["Content-Range"] == f"bytes {start}-{end}/{len(data)}"
    beyond = requests.get(url, headers={**alice_headers, "Range": "bytes=4000000-"},
                          timeout=30)
    assert beyond.status_code == 416


def test_killed_upload_leaves_no_segments(keystone_server, alice_headers, glance_swift):
    image_id = _create(keystone_server, alice_headers)
    size = 5 * MIB
    with socket.create_connection(("127.0.0.1", keystone_server.port)) as sock:
        sock.sendall((f"PUT /v2/images/{image_id}/file HTTP/1.1\r\n"
                      f"Host: 127.0.0.1\r\nX-Auth-Token: {alice_headers['X-Auth-Token']}\r\n"
                      "Content-Type: application/octet-stream\r\n"
                      f"Content-Length: {size}\r\n\r\n").encode())
        sock.sendall(os.urandom(3 * MIB))  # two segments written, then the client dies
        assert helpers.wait_until(lambda: len(_segments(glance_swift, image_id)) >= 2,
                                  timeout=30)
    assert helpers.wait_until(
        lambda: _image(keystone_server, alice_headers, image_id)["status"] == "queued",
        timeout=60)
    assert helpers.wait_until(
        lambda: not [n for n in swift_conf.objects_in(glance_swift) if image_id in n],
        timeout=30), swift_conf.objects_in(glance_swift)


def test_config_file_references(swift_env, start_glance, alice_headers, glance_swift,
                                tmp_path):
    refs = tmp_path / "glance-swift.conf"
    refs.write_text(
        "[ref1]\n"
        f"auth_address = {swift_env.auth_url}\nuser = service:glance\n"
        f"key = {harness.GLANCE_PASSWORD}\nuser_domain_id = default\n"
        "project_domain_id = default\n")
    options = {key: value for key, value in swift_conf.swift_options(swift_env).items()
               if key not in ("swift_store_auth_address", "swift_store_user",
                              "swift_store_key")}
    options.update(swift_store_config_file=str(refs), default_swift_reference="ref1",
                   swift_store_container="refs")
    server = start_glance(lambda work: swift_conf.multi_store(
        swift_env, work, options, {"DEFAULT": {"show_multiple_locations": True}}),
        name="glance-swift-refs")
    image_id = _create(server, alice_headers)
    assert _upload(server, alice_headers, image_id, b"by reference").status_code == 204
    image = _image(server, alice_headers, image_id)
    assert [loc["url"] for loc in image["locations"]] == [
        f"swift+config://ref1/refs/{image_id}"]
    assert glance_swift.get_object("refs", image_id)[1] == b"by reference"


def test_multi_tenant_stores_in_the_users_account(swift_env, start_glance, alice,
                                                  alice_headers):
    options = {**swift_conf.swift_options(swift_env), "swift_store_multi_tenant": True}
    server = start_glance(lambda work: swift_conf.multi_store(swift_env, work, options),
                          name="glance-swift-mt")
    data = os.urandom(3 * MIB + 1)
    image_id = _create(server, alice_headers)
    assert _upload(server, alice_headers, image_id, data).status_code == 204, \
        server.log_path.read_text()[-3000:]
    own = swiftclient.Connection(session=alice)
    container = f"glance_{image_id}"
    assert own.get_object(container, image_id)[1] == data
    download = requests.get(f"{server.url}/v2/images/{image_id}/file",
                            headers=alice_headers, timeout=60)
    assert download.content == data
    ranged = requests.get(f"{server.url}/v2/images/{image_id}/file",
                          headers={**alice_headers, "Range": "bytes=100-199"}, timeout=60)
    assert ranged.status_code == 206 and ranged.content == data[100:200]
    assert requests.delete(f"{server.url}/v2/images/{image_id}", headers=alice_headers,
                           timeout=30).status_code == 204
    assert container not in [c["name"] for c in own.get_account()[1]]


def test_swift_refuses_a_token_keystone_did_not_issue(swift_env):
    response = requests.get(swift_env.swift.storage_url(swift_env.ids["project_a"]),
                            headers={"X-Auth-Token": "not-a-token"}, timeout=30)
    assert response.status_code == 401


def test_every_daemon_is_recorded_by_pid(swift_env):
    pids = swift_env.swift.pids()
    assert set(pids) >= {"account", "container", "object", "proxy", "memcached",
                         "keystone"}
    assert all(harness._alive(pid) for pid in pids.values())

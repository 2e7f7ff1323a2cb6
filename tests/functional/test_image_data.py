"""Image data over HTTP against a real glance-api: upload, download, status
transitions, limits, failed uploads leaving nothing behind, actions, delete."""

import hashlib
import json
import socket
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from tests import helpers
from tests.functional import disk_images

OCTET = {"Content-Type": "application/octet-stream"}
DATA = bytes(range(256)) * 4 + b"tail"


def create(server, headers=helpers.MEMBER, **attrs) -> str:
    body = {"name": "img", "disk_format": "raw", "container_format": "bare", **attrs}
    response = requests.post(f"{server.url}/v2/images", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def upload(server, image_id, data=DATA, headers=helpers.MEMBER, content_type=OCTET):
    return requests.put(f"{server.url}/v2/images/{image_id}/file", data=data,
                        headers={**headers, **content_type})


def show(server, image_id, headers=helpers.ADMIN) -> dict:
    response = requests.get(f"{server.url}/v2/images/{image_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def store_files(server) -> list[Path]:
    return sorted((server.state_path / "images").glob("*"))


def action(server, image_id, name, headers=helpers.MEMBER):
    return requests.post(f"{server.url}/v2/images/{image_id}/actions/{name}",
                         headers=headers)


def raw_request(server, head: str, body: bytes) -> socket.socket:
    """Send a request by hand and leave the socket open (for broken uploads)."""
    port = urlparse(server.url).port
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(head.encode() + body)
    return sock


def identity_lines(headers: dict[str, str]) -> str:
    return "".join(f"{name}: {value}\r\n" for name, value in headers.items())


def wait_status(server, image_id, status, timeout=10.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        image = show(server, image_id)
        if image["status"] == status or time.monotonic() > deadline:
            return image
        time.sleep(0.05)


# -- upload / download -------------------------------------------------------------------

def test_upload_then_download(server):
    image_id = create(server)
    response = upload(server, image_id)
    assert response.status_code == 204
    assert response.content == b""
    image = show(server, image_id)
    assert image["status"] == "active"
    assert image["size"] == len(DATA) == image["virtual_size"]
    assert image["checksum"] == hashlib.md5(DATA).hexdigest()
    assert image["os_hash_algo"] == "sha512"
    assert image["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    response = requests.get(f"{server.url}/v2/images/{image_id}/file",
                            headers=helpers.MEMBER)
    assert response.status_code == 200
    assert response.content == DATA
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Length"] == str(len(DATA))
    assert response.headers["Content-MD5"] == hashlib.md5(DATA).hexdigest()
    assert response.headers["ETag"] == f'"{hashlib.sha512(DATA).hexdigest()}"'
    assert response.headers["Accept-Ranges"] == "bytes"


def test_chunked_upload(server):
    image_id = create(server)
    response = upload(server, image_id, data=iter([DATA[:100], DATA[100:]]))
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert response.status_code == 204
    assert show(server, image_id)["checksum"] == hashlib.md5(DATA).hexdigest()


def test_empty_upload(server):
    image_id = create(server)
    assert upload(server, image_id, data=b"").status_code == 204
    image = show(server, image_id)
    assert (image["status"], image["size"]) == ("active", 0)
    assert image["checksum"] == "d41d8cd98f00b204e9800998ecf8427e"


def test_qcow2_virtual_size(server):
    header = bytearray(disk_images.load("plain.qcow2"))
    header[24:32] = (10 * 1024 ** 3).to_bytes(8, "big")
    image_id = create(server, disk_format="qcow2")
    assert upload(server, image_id, data=bytes(header)).status_code == 204
    assert show(server, image_id)["virtual_size"] == 10 * 1024 ** 3


@pytest.mark.parametrize("content_type", [{"Content-Type": "text/plain"}, {}])
def test_upload_wrong_content_type_is_415(server, content_type):
    image_id = create(server)
    response = upload(server, image_id, content_type=content_type)
    assert response.status_code == 415
    assert show(server, image_id)["status"] == "queued"


def test_upload_to_active_is_409(server):
    image_id = create(server)
    assert upload(server, image_id).status_code == 204
    response = upload(server, image_id, data=b"other")
    assert response.status_code == 409
    assert "from active to saving" in response.text


def create_without_formats(server, **attrs) -> str:
    response = requests.post(f"{server.url}/v2/images", json={"name": "bare", **attrs},
                             headers=helpers.MEMBER)
    assert response.status_code == 201, response.text
    return response.json()["id"]


MISSING_FORMATS = [
    ({}, "Properties disk_format, container_format must be set prior to saving data."),
    ({"disk_format": "raw"}, "Property container_format must be set prior to saving data."),
    ({"container_format": "bare"}, "Property disk_format must be set prior to saving data."),
]


@pytest.mark.parametrize(("attrs", "expected"), MISSING_FORMATS,
                         ids=["neither", "no-container-format", "no-disk-format"])
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_upload_without_formats_is_400_and_stores_nothing(server, attrs, expected,
                                                          chunked):
    """As Glance 33: the image needs both formats before it takes data."""
    image_id = create_without_formats(server, **attrs)
    data = iter([DATA[:500], DATA[500:]]) if chunked else BIG
    response = upload(server, image_id, data=data,
                      headers={**helpers.MEMBER, "Accept": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["message"] == expected
    image = show(server, image_id)
    assert (image["status"], image["size"], image["checksum"]) == ("queued", None, None)
    assert not [p for p in store_files(server) if p.name == image_id]
    # Once the formats are set, the same image takes data.
    response = requests.patch(
        f"{server.url}/v2/images/{image_id}", json=[
            {"op": "add", "path": "/disk_format", "value": "raw"},
            {"op": "add", "path": "/container_format", "value": "bare"}],
        headers={**helpers.MEMBER,
                 "Content-Type": "application/openstack-images-v2.1-json-patch"})
    assert response.status_code == 200, response.text
    assert upload(server, image_id).status_code == 204
    assert show(server, image_id)["status"] == "active"


def test_download_without_data_is_204(server):
    image_id = create(server)
    response = requests.get(f"{server.url}/v2/images/{image_id}/file",
                            headers=helpers.MEMBER)
    assert response.status_code == 204
    assert response.content == b""


def test_upload_permissions(server):
    image_id = create(server)
    assert upload(server, image_id, headers=helpers.READER).status_code == 403
    assert upload(server, image_id, headers=helpers.OTHER_MEMBER).status_code == 404
    assert show(server, image_id)["status"] == "queued"


def test_unknown_or_bad_image(server):
    assert upload(server, "00000000-0000-0000-0000-000000000000").status_code == 404
    assert upload(server, "not-a-uuid").status_code == 404
    response = requests.get(f"{server.url}/v2/images/not-a-uuid/file",
                            headers=helpers.MEMBER)
    assert response.status_code == 404


def test_head_and_post_on_file_are_405(server):
    image_id = create(server)
    for method in ("HEAD", "POST", "DELETE"):
        response = requests.request(method, f"{server.url}/v2/images/{image_id}/file",
                                    headers=helpers.MEMBER)
        assert response.status_code == 405
        assert response.headers["Allow"] == "GET, PUT"


def test_second_upload_while_saving_is_409_and_first_wins(server):
    image_id = create(server)
    head = (f"PUT /v2/images/{image_id}/file HTTP/1.1\r\nHost: x\r\n"
            f"{identity_lines(helpers.MEMBER)}Content-Type: application/octet-stream\r\n"
            f"Content-Length: {len(DATA)}\r\n\r\n")
    sock = raw_request(server, head, DATA[:10])
    try:
        assert wait_status(server, image_id, "saving")["status"] == "saving"
        response = upload(server, image_id)
        assert response.status_code == 409
        assert "from saving to saving" in response.text
        sock.sendall(DATA[10:])
        assert sock.recv(100).startswith(b"HTTP/1.1 204")
    finally:
        sock.close()
    assert show(server, image_id)["checksum"] == hashlib.md5(DATA).hexdigest()


# -- failed uploads leave nothing --------------------------------------------------------

def test_short_body_leaves_image_queued_and_no_data(server):
    image_id = create(server)
    head = (f"PUT /v2/images/{image_id}/file HTTP/1.1\r\nHost: x\r\n"
            f"{identity_lines(helpers.MEMBER)}Content-Type: application/octet-stream\r\n"
            "Content-Length: 1000000\r\n\r\n")
    sock = raw_request(server, head, b"x" * 5000)
    assert wait_status(server, image_id, "saving")["status"] == "saving"
    sock.close()
    assert wait_status(server, image_id, "queued")["status"] == "queued"
    assert not [p for p in store_files(server) if p.name == image_id]
    assert upload(server, image_id).status_code == 204


def test_disconnect_mid_chunked_upload_leaves_no_data(server):
    image_id = create(server)
    head = (f"PUT /v2/images/{image_id}/file HTTP/1.1\r\nHost: x\r\n"
            f"{identity_lines(helpers.MEMBER)}Content-Type: application/octet-stream\r\n"
            "Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"y" * 65536
    sock = raw_request(server, head, b"%x\r\n" % len(chunk) + chunk + b"\r\n")
    assert wait_status(server, image_id, "saving")["status"] == "saving"
    sock.sendall(b"%x\r\n" % len(chunk) + chunk[:100])
    sock.close()
    image = wait_status(server, image_id, "queued")
    assert image["status"] == "queued"
    assert image["size"] is None and image["checksum"] is None
    assert not [p for p in store_files(server) if p.name == image_id]


@pytest.fixture(scope="module")
def capped(start_server):
    return start_server({"DEFAULT": {"image_size_cap": 20}}, name="capped")


def test_over_cap_chunked_is_413_and_leaves_nothing(capped):
    image_id = create(capped)
    response = upload(capped, image_id, data=iter([DATA[:16], DATA[16:40]]))
    assert response.status_code == 413
    assert "too large" in response.text
    assert show(capped, image_id)["status"] == "queued"
    assert store_files(capped) == []


def test_over_cap_content_length_is_413_up_front(capped):
    image_id = create(capped)
    response = upload(capped, image_id, data=DATA[:40])
    assert response.status_code == 413
    assert show(capped, image_id)["status"] == "queued"
    assert store_files(capped) == []
    assert upload(capped, image_id, data=DATA[:20]).status_code == 204


def test_user_storage_quota(start_server):
    server = start_server({"DEFAULT": {"user_storage_quota": "60B"}}, name="quota")
    first = create(server)
    assert upload(server, first, data=DATA[:40]).status_code == 204
    second = create(server)
    response = upload(server, second, data=DATA[:40])
    assert response.status_code == 413
    assert "20 bytes remaining" in response.text
    response = upload(server, second, data=iter([DATA[:30]]))
    assert response.status_code == 413
    assert show(server, second)["status"] == "queued"
    assert [p.name for p in store_files(server)] == [first]
    # another project has its own quota
    other = create(server, headers=helpers.OTHER_MEMBER)
    assert upload(server, other, data=DATA[:40],
                  headers=helpers.OTHER_MEMBER).status_code == 204


# -- deactivate / reactivate -------------------------------------------------------------

def test_deactivate_reactivate(server):
    image_id = create(server)
    response = action(server, image_id, "deactivate")
    assert response.status_code == 403
    assert "Not allowed to deactivate image in status 'queued'" in response.text
    assert action(server, image_id, "reactivate").status_code == 403
    upload(server, image_id)
    assert action(server, image_id, "deactivate", helpers.READER).status_code == 403
    assert action(server, image_id, "deactivate", helpers.OTHER_MEMBER).status_code == 404
    assert action(server, image_id, "deactivate").status_code == 204
    assert action(server, image_id, "deactivate").status_code == 204
    assert show(server, image_id)["status"] == "deactivated"
    file_url = f"{server.url}/v2/images/{image_id}/file"
    response = requests.get(file_url, headers=helpers.MEMBER)
    assert response.status_code == 403
    assert "deactivated" in response.text
    response = requests.get(file_url, headers=helpers.ADMIN)
    assert response.status_code == 200 and response.content == DATA
    response = upload(server, image_id)
    assert response.status_code == 409
    assert "from deactivated to saving" in response.text
    assert action(server, image_id, "reactivate", helpers.READER).status_code == 403
    assert action(server, image_id, "reactivate").status_code == 204
    assert action(server, image_id, "reactivate").status_code == 204
    assert show(server, image_id)["status"] == "active"
    assert requests.get(file_url, headers=helpers.MEMBER).content == DATA


def test_action_routes(server):
    image_id = create(server)
    base = f"{server.url}/v2/images/{image_id}/actions"
    response = requests.get(f"{base}/deactivate", headers=helpers.MEMBER)
    assert response.status_code == 405 and response.headers["Allow"] == "POST"
    assert requests.post(f"{base}/bogus", headers=helpers.MEMBER).status_code == 404
    unknown = "00000000-0000-0000-0000-000000000000"
    assert action(server, unknown, "deactivate").status_code == 404


# -- delete ------------------------------------------------------------------------------

def test_delete_removes_data(server):
    image_id = create(server)
    upload(server, image_id)
    assert (server.state_path / "images" / image_id).exists()
    response = requests.delete(f"{server.url}/v2/images/{image_id}",
                               headers=helpers.MEMBER)
    assert response.status_code == 204
    assert not (server.state_path / "images" / image_id).exists()


def test_delete_deactivated_image_is_allowed(server):
    image_id = create(server)
    upload(server, image_id)
    action(server, image_id, "deactivate")
    response = requests.delete(f"{server.url}/v2/images/{image_id}",
                               headers=helpers.MEMBER)
    assert response.status_code == 204
    assert not (server.state_path / "images" / image_id).exists()


def test_delayed_delete_keeps_data(start_server):
    server = start_server({"DEFAULT": {"delayed_delete": True}}, name="delayed")
    image_id = create(server)
    upload(server, image_id)
    response = requests.delete(f"{server.url}/v2/images/{image_id}",
                               headers=helpers.MEMBER)
    assert response.status_code == 204
    assert (server.state_path / "images" / image_id).exists()
    assert requests.get(f"{server.url}/v2/images/{image_id}",
                        headers=helpers.ADMIN).status_code == 404


def test_multi_store(start_server, tmp_path):
    server = start_server({
        "DEFAULT": {"enabled_backends": "fast:file, cheap:file, web:http"},
        "glance_store": {"default_backend": "fast"},
        "cheap": {"filesystem_store_datadir": str(tmp_path / "cheap")},
    }, name="multistore")
    image_id = create(server)
    assert upload(server, image_id).status_code == 204
    image = show(server, image_id)
    assert image["stores"] == "fast"
    assert (server.state_path / "images" / image_id).exists()
    image_id = create(server)
    response = upload(server, image_id, headers={**helpers.MEMBER,
                                                 "X-Image-Meta-Store": "cheap"})
    assert response.status_code == 204
    assert show(server, image_id)["stores"] == "cheap"
    assert (tmp_path / "cheap" / image_id).exists()
    response = requests.get(f"{server.url}/v2/images/{image_id}/file",
                            headers=helpers.MEMBER)
    assert response.content == DATA
    image_id = create(server)
    response = upload(server, image_id, headers={**helpers.MEMBER,
                                                 "X-Image-Meta-Store": "web"})
    assert response.status_code == 410
    response = upload(server, image_id, headers={**helpers.MEMBER,
                                                 "X-Image-Meta-Store": "nope"})
    assert response.status_code == 400
    assert show(server, image_id)["status"] == "queued"
    requests.delete(f"{server.url}/v2/images/{image_id}", headers=helpers.MEMBER)


# -- gunicorn direct body reads (glance.api.wsgi._GunicornDirectInput) --------------------

BIG = bytes(range(256)) * (12 * 1024 + 7)  # about 3 MiB: more than one upload chunk


def _read_response(sock_file) -> tuple[int, dict[str, str], bytes]:
    status = int(sock_file.readline().split()[1])
    headers = {}
    while (line := sock_file.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    body = sock_file.read(int(headers.get("content-length", 0)))
    return status, headers, body


def test_large_uploads_keep_the_connection_usable(server):
    """Two big uploads and shows on one keep-alive connection: every byte of each
    body is consumed by its own request, none by the next."""
    import http.client

    port = urlparse(server.url).port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for n in range(2):
        image_id = create(server)
        data = BIG + bytes([n])
        connection.request("PUT", f"/v2/images/{image_id}/file", body=data,
                           headers={**helpers.MEMBER, **OCTET})
        response = connection.getresponse()
        assert response.status == 204, response.read()
        response.read()
        connection.request("GET", f"/v2/images/{image_id}", headers=helpers.MEMBER)
        response = connection.getresponse()
        image = json.loads(response.read())
        assert response.status == 200
        assert image["size"] == len(data)
        assert image["checksum"] == hashlib.md5(data).hexdigest()
    connection.close()


@pytest.fixture(scope="module")
def small_chunk_server(start_server):
    """upload_chunk_size at its minimum, so a body of a few KiB takes the direct path
    while gunicorn already holds all of it (and what follows) from its first read."""
    return start_server({"DEFAULT": {"upload_chunk_size": 4096, "workers": 1}},
                        name="small-chunks")


@pytest.mark.parametrize("size", [len(BIG), 6000], ids=["3MiB", "6000B"])
def test_pipelined_request_after_an_upload(server, small_chunk_server, size):
    """A request sent right behind an upload body, in the same packets, is answered:
    the upload reads exactly its Content-Length, and bytes gunicorn buffered beyond it
    are left for the next request."""
    target = server if size == len(BIG) else small_chunk_server
    data = BIG[:size]
    image_id = create(target)
    head = (f"PUT /v2/images/{image_id}/file HTTP/1.1\r\nHost: x\r\n"
            f"{identity_lines(helpers.MEMBER)}Content-Type: application/octet-stream\r\n"
            f"Content-Length: {size}\r\n\r\n")
    follow = (f"GET /v2/images/{image_id} HTTP/1.1\r\nHost: x\r\n"
              f"{identity_lines(helpers.MEMBER)}Connection: close\r\n\r\n")
    sock = raw_request(target, head, data + follow.encode())
    sock.settimeout(30)
    with sock, sock.makefile("rb") as sock_file:
        status, _, _ = _read_response(sock_file)
        assert status == 204
        status, _, body = _read_response(sock_file)
    assert status == 200
    assert json.loads(body)["os_hash_value"] == hashlib.sha512(data).hexdigest()

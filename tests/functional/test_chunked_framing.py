"""Bad chunked framing of a request body, on every call that reads one, against the
real glance-api (gunicorn): a 400 with a JSON body naming the framing, never a 500;
a chunk size larger than the call can take is a 413 at once, not a wait for bytes
that will never come. Either way the answer says ``Connection: close`` and the
server then closes the connection cleanly."""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests

from tests import helpers
from tests.functional import raw_http

JSON_ACCEPT = {"Accept": "application/json"}
PATCH_TYPE = "application/openstack-images-v2.1-json-patch"


@pytest.fixture(scope="module")
def targets(server) -> dict[str, tuple[str, str, dict[str, str]]]:
    """One call per body-reading endpoint: (method, path, headers)."""
    def create(**attrs) -> str:
        response = requests.post(f"{server.url}/v2/images", headers=helpers.MEMBER,
                                 json={"name": "framing", "disk_format": "raw",
                                       "container_format": "bare", **attrs})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    json_type = {"Content-Type": "application/json"}
    octets = {"Content-Type": "application/octet-stream"}
    return {
        "create-image": ("POST", "/v2/images", {**helpers.MEMBER, **json_type}),
        "patch-image": ("PATCH", f"/v2/images/{create()}",
                        {**helpers.MEMBER, "Content-Type": PATCH_TYPE}),
        "add-member": ("POST", f"/v2/images/{create(visibility='shared')}/members",
                       {**helpers.MEMBER, **json_type}),
        "create-task": ("POST", "/v2/tasks", {**helpers.ADMIN, **json_type}),
        "create-namespace": ("POST", "/v2/metadefs/namespaces",
                             {**helpers.ADMIN, **json_type}),
        "upload": ("PUT", f"/v2/images/{create()}/file", {**helpers.MEMBER, **octets}),
        "stage": ("PUT", f"/v2/images/{create()}/stage", {**helpers.MEMBER, **octets}),
    }


ENDPOINTS = ["create-image", "patch-image", "add-member", "create-task",
             "create-namespace", "upload", "stage"]
DATA_ENDPOINTS = ["upload", "stage"]

# Body bytes after the headers; ``None`` in the second place: the client then
# half-closes its side (the body ends there).
BAD_FRAMING = raw_http.BAD_CHUNKED_BODIES
TRUNCATED = {
    "no-end-of-trailers": b"3\r\n{}x\r\n0\r\n",
    "ends-mid-chunk": b"10\r\nabc",
}


def _send(server, target, body: bytes, half_close: bool = False
          ) -> tuple[raw_http.Response, float, socket.socket]:
    method, path, headers = target
    sock = raw_http.connect(server)
    sock.sendall(raw_http.head(method, path, {**headers, **JSON_ACCEPT,
                                              "Transfer-Encoding": "chunked"}) + body)
    if half_close:
        sock.shutdown(socket.SHUT_WR)
    started = time.monotonic()
    response = raw_http.read_response(sock)
    return response, time.monotonic() - started, sock


def _assert_json_error(response: raw_http.Response, status: int) -> dict:
    assert response.status == status, (response.status, response.body[:300])
    assert response.headers["content-type"] == "application/json"
    body = json.loads(response.body)
    assert body["code"].startswith(str(status)) and body["title"]
    assert b"<html" not in response.raw_head + response.body.lower()
    return body


def _assert_closed(response: raw_http.Response, sock: socket.socket) -> None:
    assert response.headers.get("connection") == "close", response.headers
    with sock:
        assert raw_http.closed_cleanly(sock)


@pytest.mark.parametrize("case", list(BAD_FRAMING))
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_bad_chunk_framing_is_400(server, targets, endpoint, case):
    response, _, sock = _send(server, targets[endpoint], BAD_FRAMING[case])
    body = _assert_json_error(response, 400)
    assert "chunked" in body["message"], body
    _assert_closed(response, sock)


@pytest.mark.parametrize("case", list(TRUNCATED))
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_body_cut_short_is_400(server, targets, endpoint, case):
    response, _, sock = _send(server, targets[endpoint], TRUNCATED[case], half_close=True)
    _assert_json_error(response, 400)
    _assert_closed(response, sock)


@pytest.mark.parametrize("size", [2 ** 80, 2 ** 40 + 1], ids=["2^80", "over-image-cap"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_absurd_chunk_size_is_413_at_once(server, targets, endpoint, size):
    """The size alone decides: the server does not wait for the chunk's data."""
    response, waited, sock = _send(server, targets[endpoint], b"%x\r\nabc" % size)
    body = _assert_json_error(response, 413)
    assert "larger than" in body["message"] or "too large" in body["message"], body
    assert waited < 5
    _assert_closed(response, sock)


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e not in DATA_ENDPOINTS])
def test_chunks_over_the_json_limit_are_413_at_once(server, targets, endpoint):
    """One chunk just over max_json_body_size, and two that only add up to more."""
    for body in (b"10000\r\n{", b"8000\r\n" + b" " * 0x8000 + b"\r\n8000\r\n "):
        response, waited, sock = _send(server, targets[endpoint], body)
        message = _assert_json_error(response, 413)["message"]
        assert message == "The request body is larger than 65535 bytes.", message
        assert waited < 5
        _assert_closed(response, sock)


@pytest.mark.parametrize("endpoint", DATA_ENDPOINTS)
def test_bad_framing_leaves_the_image_queued(server, targets, endpoint):
    method, path, headers = targets[endpoint]
    image_id = path.split("/")[3]
    data = b"x" * 100_000
    body = b"%x\r\n" % len(data) + data + b"\r\nzz\r\n"
    response, _, sock = _send(server, targets[endpoint], body)
    _assert_json_error(response, 400)
    _assert_closed(response, sock)
    image = requests.get(f"{server.url}/v2/images/{image_id}", headers=helpers.MEMBER)
    assert image.json()["status"] == "queued"
    assert image.json()["size"] is None


def test_good_chunked_bodies_still_work(server, targets):
    """The same calls with well-formed chunked bodies (extensions and trailers too)."""
    method, path, headers = targets["create-image"]
    body = b'{"name": "ok-chunked", "disk_format": "raw", "container_format": "bare"}'
    framed = b"5;name=value\r\n" + body[:5] + b"\r\n" + b"%x\r\n" % (len(body) - 5) + \
        body[5:] + b"\r\n0\r\nX-Trailer: t\r\n\r\n"
    response, _, sock = _send(server, (method, path, headers), framed)
    with sock:
        assert response.status == 201, response.body
        assert response.keeps_alive
        image_id = json.loads(response.body)["id"]
        sock.sendall(raw_http.head("PUT", f"/v2/images/{image_id}/file", {
            **helpers.MEMBER, "Content-Type": "application/octet-stream",
            "Transfer-Encoding": "chunked"}) + raw_http.chunked(b"d" * 300_000, 70_000))
        assert raw_http.read_response(sock).status == 204
    shown = requests.get(f"{server.url}/v2/images/{image_id}", headers=helpers.MEMBER)
    assert (shown.json()["status"], shown.json()["size"]) == ("active", 300_000)


def test_text_error_body_without_json_accept(server, targets):
    method, path, headers = targets["create-image"]
    sock = raw_http.connect(server)
    with sock:
        sock.sendall(raw_http.head(method, path, {**headers, "Transfer-Encoding":
                                                  "chunked"}) + b"zz\r\n")
        response = raw_http.read_response(sock)
    assert response.status == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert b"chunked" in response.body and b"<html" not in response.body

"""Limits: JSON depth and values, header sizes, range counts, a client that
stalls after declaring a Content-Length (408, worker freed, image back to queued,
no partial data), and clients that send their headers too slowly or nothing."""

import os
import select
import socket
import time

import pytest
import requests

from tests import helpers

OCTET = {"Content-Type": "application/octet-stream"}
JSON = {"Content-Type": "application/json", "Accept": "application/json"}


@pytest.fixture(scope="module")
def stall_server(start_server):
    """One worker with two threads, 2 s client socket and header timeouts."""
    return start_server({"DEFAULT": {"workers": 1, "threads_per_worker": 2,
                                     "client_socket_timeout": 2,
                                     "header_read_timeout": 2}}, name="limits")


def _create(url: str) -> str:
    response = requests.post(f"{url}/v2/images", headers=helpers.MEMBER,
                             json={"name": "l", "disk_format": "raw",
                                   "container_format": "bare"})
    assert response.status_code == 201
    return response.json()["id"]


@pytest.mark.parametrize("body, fragment", [
    (b'{"name": "a", "x": ' + b"[" * 40 + b"]" * 40 + b"}", b"nested deeper"),
    (b'{"name": "' + b"a" * 10 + b'\\u0000"}', b"NUL"),
    (b'{"name": "\\ud800"}', b"surrogates"),
    (b'{"min_ram": ' + b"9" * 30 + b"}", b"out of range"),
    (b'{"min_disk": 4294967296}', b"maximum"),
    (b"[" * 100_000 + b"]" * 100_000, b"larger than"),
], ids=["deep", "nul", "surrogate", "huge-int", "int32-column", "too-big"])
def test_json_limits(app, body, fragment):
    response = app.post("/v2/images", body, headers={**helpers.MEMBER, **JSON},
                        expect_errors=True)
    assert response.status_int in (400, 413) and fragment in response.body


@pytest.mark.parametrize("header", ["Range", "Content-Range"])
def test_huge_numbers_in_ranges(app, header):
    image_id = app.post_json("/v2/images", {"name": "r", "disk_format": "raw",
                                            "container_format": "bare"},
                             headers=helpers.MEMBER).json["id"]
    app.put(f"/v2/images/{image_id}/file", b"x" * 40, headers={**helpers.MEMBER, **OCTET})
    value = ("bytes=0-" if header == "Range" else "bytes 0-") + "9" * 5000 + \
        ("" if header == "Range" else "/*")
    response = app.get(f"/v2/images/{image_id}/file", headers={**helpers.MEMBER,
                                                               header: value},
                       expect_errors=True)
    assert response.status_int < 500


def test_too_many_ranges_are_ignored(app):
    image_id = app.post_json("/v2/images", {"name": "r", "disk_format": "raw",
                                            "container_format": "bare"},
                             headers=helpers.MEMBER).json["id"]
    app.put(f"/v2/images/{image_id}/file", b"x" * 400, headers={**helpers.MEMBER, **OCTET})
    header = "bytes=" + ",".join(f"{i}-{i}" for i in range(101))
    response = app.get(f"/v2/images/{image_id}/file",
                       headers={**helpers.MEMBER, "Range": header})
    assert response.status_int == 200 and len(response.body) == 400


@pytest.mark.parametrize("query", [
    "size_min=" + "9" * 30, "size_max=-" + "9" * 30, "min_ram=" + "9" * 20,
    "min_disk=9223372036854775808", "size_min=" + "9" * 5000,
    "created_at=gt:99999999999-01-01T00:00:00Z", "updated_at=lt:0000-00-00",
    "limit=-" + "9" * 40,
])
def test_out_of_range_list_filters_are_400(app, query):
    response = app.get(f"/v2/images?{query}", headers=helpers.MEMBER, expect_errors=True)
    assert response.status_int == 400, response.body[:300]


def test_query_string_not_utf8_is_400(app):
    response = app.get("/v2/images?marker=%FF", headers=helpers.MEMBER, status=400)
    assert b"not valid UTF-8" in response.body


@pytest.mark.parametrize("headers, statuses", [
    ({"X-Big": "a" * 20_000}, (400, 431)),
    ({f"X-H{i}": "v" for i in range(150)}, (400, 431)),
    ({"X-Openstack-Request-ID": "req-" + "a" * 10_000}, (200,)),
], ids=["field-size", "field-count", "request-id"])
def test_header_limits(stall_server, headers, statuses):
    response = requests.get(f"{stall_server.url}/v2/images",
                            headers={**helpers.MEMBER, **headers})
    assert response.status_code in statuses
    assert response.headers.get("x-openstack-request-id", "req-").startswith("req-")
    assert len(response.headers.get("x-openstack-request-id", "")) < 100


def test_long_request_line_is_refused(stall_server):
    response = requests.get(f"{stall_server.url}/v2/images?name={'a' * 9000}",
                            headers=helpers.MEMBER)
    assert response.status_code in (400, 414)


@pytest.mark.parametrize("sent", [0, 70_000], ids=["no-bytes", "some-bytes"])
def test_stalled_upload_times_out(stall_server, sent):
    image_id = _create(stall_server.url)
    with socket.create_connection(("127.0.0.1", stall_server.port)) as sock:
        head = (f"PUT /v2/images/{image_id}/file HTTP/1.1\r\nHost: x\r\n"
                "Content-Type: application/octet-stream\r\nContent-Length: 1048576\r\n"
                + "".join(f"{k}: {v}\r\n" for k, v in helpers.MEMBER.items()) + "\r\n")
        sock.sendall(head.encode() + b"x" * sent)
        sock.settimeout(15)
        started = time.monotonic()
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
        waited = time.monotonic() - started
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert waited < 10
    image = requests.get(f"{stall_server.url}/v2/images/{image_id}",
                         headers=helpers.MEMBER).json()
    assert (image["status"], image["size"]) == ("queued", None)
    assert not os.path.exists(stall_server.state_path / "images" / image_id)
    # both threads of the single worker still answer
    for _ in range(4):
        assert requests.get(f"{stall_server.url}/v2/images", headers=helpers.MEMBER,
                            timeout=5).status_code == 200


def _served_quickly(url: str, timeout: float) -> bool:
    started = time.monotonic()
    response = requests.get(f"{url}/v2/images", headers=helpers.MEMBER, timeout=timeout)
    return response.status_code == 200 and time.monotonic() - started < timeout


def _closed_by_server(sock: socket.socket) -> bool:
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(4096) == b""
    except ConnectionError:
        return True


def test_slow_headers_are_cut_off(stall_server):
    """Two slowloris clients (as many as the worker has threads) trickle header bytes;
    the server drops each after the 2 s header deadline, though bytes keep coming, and
    serves other clients meanwhile."""
    clients = [socket.create_connection(("127.0.0.1", stall_server.port))
               for _ in range(2)]
    closed_after: dict[int, float] = {}
    started = time.monotonic()
    try:
        for sock in clients:
            sock.sendall(b"GET /v2/images HTTP/1.1\r\nHost: x\r\n")
        while len(closed_after) < len(clients) and time.monotonic() - started < 15:
            for index, sock in enumerate(clients):
                if index in closed_after:
                    continue
                if _closed_by_server(sock):
                    closed_after[index] = time.monotonic() - started
                    continue
                try:
                    sock.sendall(b"X")  # one more byte of a never-ending header
                except OSError:
                    closed_after[index] = time.monotonic() - started
            time.sleep(0.2)
        assert _served_quickly(stall_server.url, 8)
    finally:
        for sock in clients:
            sock.close()
    assert sorted(closed_after) == [0, 1], closed_after
    assert all(1.5 < waited < 6 for waited in closed_after.values()), closed_after
    log = stall_server.log_path.read_text()
    assert "Closed a connection whose request did not arrive in time" in log
    assert "Socket error processing request" not in log


def test_silent_connections_do_not_hold_threads(stall_server):
    """Clients that connect and send nothing do not keep others waiting for long,
    and the server closes their connections."""
    clients = [socket.create_connection(("127.0.0.1", stall_server.port))
               for _ in range(3)]
    started = time.monotonic()
    try:
        assert _served_quickly(stall_server.url, 9)
        while not all(_closed_by_server(sock) for sock in clients):
            assert time.monotonic() - started < 15, "silent connections stay open"
            time.sleep(0.2)
    finally:
        for sock in clients:
            sock.close()


@pytest.mark.parametrize("pause", [0.0, 0.2], ids=["at-once", "after-a-pause"])
def test_slow_headers_on_a_keep_alive_connection_are_cut_off(stall_server, pause):
    """The header deadline holds for every request of a keep-alive connection, whether
    the next request starts at once (served on the same thread) or after a pause
    (back through gunicorn's poller)."""
    identity = "".join(f"{name}: {value}\r\n" for name, value in helpers.MEMBER.items())
    request = f"GET /v2/images HTTP/1.1\r\nHost: x\r\n{identity}\r\n".encode()
    with socket.create_connection(("127.0.0.1", stall_server.port)) as sock:
        sock.settimeout(10)
        sock.sendall(request)
        with sock.makefile("rb") as answer:
            assert b" 200 " in answer.readline()
            length = 0
            while (line := answer.readline()) != b"\r\n":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            answer.read(length)
            time.sleep(pause)
            started = time.monotonic()
            sock.sendall(b"GET /v2/images HTTP/1.1\r\nHost: x\r\n")
            closed_after = None
            while time.monotonic() - started < 10:
                if _closed_by_server(sock):
                    closed_after = time.monotonic() - started
                    break
                try:
                    sock.sendall(b"X")
                except OSError:
                    closed_after = time.monotonic() - started
                    break
                time.sleep(0.2)
    assert closed_after is not None and 1.5 < closed_after < 6, closed_after

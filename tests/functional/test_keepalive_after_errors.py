"""A connection after an early error to an upload, against the real glance-api.

``PUT .../file`` and ``PUT .../stage`` may be answered (404, 409, 413, 415, 400,
403) before their body is read. The answer must then either say
``Connection: close`` and the server close the connection cleanly (a FIN, not a
reset, after the client has sent its body), or keep the connection and serve the
next request on it: never promise keep-alive and close.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import requests

from tests import helpers
from tests.functional import raw_http

OCTETS = {"Content-Type": "application/octet-stream"}
JSON_ACCEPT = {"Accept": "application/json"}
MB = 1024 * 1024
CAP = 4096  # image_size_cap of the capped server


@pytest.fixture(scope="module")
def capped(start_server) -> helpers.Server:
    return start_server({"DEFAULT": {"image_size_cap": CAP}}, name="keepalive-capped")


def _create(server: helpers.Server, **attrs) -> str:
    body = {"name": "ka", "disk_format": "raw", "container_format": "bare", **attrs}
    response = requests.post(f"{server.url}/v2/images", headers=helpers.MEMBER, json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _active(server: helpers.Server) -> str:
    image_id = _create(server)
    response = requests.put(f"{server.url}/v2/images/{image_id}/file", data=b"active",
                            headers={**helpers.MEMBER, **OCTETS})
    assert response.status_code == 204, response.text
    return image_id


def _without_formats(server: helpers.Server) -> str:
    response = requests.post(f"{server.url}/v2/images", headers=helpers.MEMBER,
                             json={"name": "no-formats"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


# name: (which server, status, path from a fresh image, request headers)
Case = tuple[str, int, Callable[[helpers.Server], str], dict[str, str]]
CASES: dict[str, Case] = {
    "404-file": ("server", 404, lambda s: f"/v2/images/{uuid.uuid4()}/file",
                 {**helpers.MEMBER, **OCTETS}),
    "404-stage": ("server", 404, lambda s: f"/v2/images/{uuid.uuid4()}/stage",
                  {**helpers.MEMBER, **OCTETS}),
    "409-file-active": ("server", 409, lambda s: f"/v2/images/{_active(s)}/file",
                        {**helpers.MEMBER, **OCTETS}),
    "409-stage-active": ("server", 409, lambda s: f"/v2/images/{_active(s)}/stage",
                         {**helpers.MEMBER, **OCTETS}),
    "415-file": ("server", 415, lambda s: f"/v2/images/{_create(s)}/file",
                 {**helpers.MEMBER, "Content-Type": "text/plain"}),
    "415-stage": ("server", 415, lambda s: f"/v2/images/{_create(s)}/stage",
                  {**helpers.MEMBER, "Content-Type": "text/plain"}),
    "400-no-formats": ("server", 400, lambda s: f"/v2/images/{_without_formats(s)}/file",
                       {**helpers.MEMBER, **OCTETS}),
    "403-reader": ("server", 403, lambda s: f"/v2/images/{_create(s)}/file",
                   {**helpers.READER, **OCTETS}),
    "413-over-cap": ("capped", 413, lambda s: f"/v2/images/{_create(s)}/file",
                     {**helpers.MEMBER, **OCTETS}),
    "413-stage-over-cap": ("capped", 413, lambda s: f"/v2/images/{_create(s)}/stage",
                           {**helpers.MEMBER, **OCTETS}),
}


def _framed(data: bytes, framing: str) -> tuple[dict[str, str], bytes]:
    if framing == "chunked":
        return {"Transfer-Encoding": "chunked"}, raw_http.chunked(data, 64 * 1024)
    return {"Content-Length": str(len(data))}, data


def _next_request_is_served(sock) -> None:
    sock.sendall(raw_http.head("GET", "/v2/images?limit=1", {**helpers.MEMBER,
                                                              **JSON_ACCEPT}))
    follow = raw_http.read_response(sock)
    assert follow.status == 200, follow.body[:300]
    assert "images" in json.loads(follow.body)


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("case", list(CASES))
def test_one_mb_body_then_the_same_connection(request, case, framing):
    """One raw socket: the whole 1 MB body is sent before the answer is read."""
    server_name, status, path_of, headers = CASES[case]
    server = request.getfixturevalue(server_name)
    path = path_of(server)
    extra, body = _framed(b"\x01" * MB, framing)
    sock = raw_http.connect(server)
    with sock:
        sock.sendall(raw_http.head("PUT", path, {**headers, **extra, **JSON_ACCEPT}) + body)
        response = raw_http.read_response(sock)
        assert response.status == status, response.body[:300]
        assert response.headers["content-type"] == "application/json"
        if response.keeps_alive:
            _next_request_is_served(sock)
        else:
            assert raw_http.closed_cleanly(sock), "connection reset, or not closed"


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("case", list(CASES))
def test_small_unread_body_keeps_the_connection(request, case, framing):
    """What is left of a small body is dropped: the connection serves the next
    request (twice, to show the body's bytes were not taken for a request).

    Except a chunked body over the cap: it is refused at the chunk size that takes
    it over, its framing left half read, so that answer closes the connection."""
    server_name, status, path_of, headers = CASES[case]
    server = request.getfixturevalue(server_name)
    extra, body = _framed(b"\x02" * (10 * 1024), framing)
    refused_at_size_line = status == 413 and framing == "chunked"
    sock = raw_http.connect(server)
    with sock:
        for _ in range(1 if refused_at_size_line else 2):
            sock.sendall(raw_http.head("PUT", path_of(server), {**headers, **extra}) + body)
            response = raw_http.read_response(sock)
            assert response.status == status, response.body[:300]
            if refused_at_size_line:
                assert not response.keeps_alive
                assert raw_http.closed_cleanly(sock)
            else:
                assert response.keeps_alive, response.headers
                _next_request_is_served(sock)


def _chunks(size: int, piece: int = 64 * 1024) -> Iterator[bytes]:
    for _ in range(size // piece):
        yield b"\x03" * piece


@pytest.mark.parametrize("case", list(CASES))
def test_requests_session_ten_times(request, case):
    """python-requests on one Session: ten 1 MB bodies with Content-Length and ten
    chunked, every answer the expected status, no connection error."""
    server_name, status, path_of, headers = CASES[case]
    server = request.getfixturevalue(server_name)
    failures = []
    with requests.Session() as session:
        for attempt in range(20):
            data = b"\x03" * MB if attempt % 2 else _chunks(MB)
            try:
                response = session.put(server.url + path_of(server), data=data,
                                       headers=headers, timeout=30)
            except requests.RequestException as err:
                failures.append(repr(err))
                continue
            if response.status_code != status:
                failures.append(response.status_code)
        assert session.get(f"{server.url}/v2/images", headers=helpers.MEMBER,
                           timeout=30).status_code == 200
    assert failures == []


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_json_body_over_the_limit_then_the_same_connection(server, framing):
    """The same rule on a metadata call: 1 MB to POST /v2/images is a 413 before
    (Content-Length) or while (chunked) it is read."""
    extra, body = _framed(b"[" * MB, framing)
    sock = raw_http.connect(server)
    with sock:
        sock.sendall(raw_http.head("POST", "/v2/images", {
            **helpers.MEMBER, "Content-Type": "application/json", **extra,
            **JSON_ACCEPT}) + body)
        response = raw_http.read_response(sock)
        assert response.status == 413, response.body[:300]
        if response.keeps_alive:
            _next_request_is_served(sock)
        else:
            assert raw_http.closed_cleanly(sock), "connection reset, or not closed"


@pytest.fixture(scope="module")
def one_worker(start_server) -> helpers.Server:
    return start_server({"DEFAULT": {"workers": 1}}, name="keepalive-one-worker")


@pytest.mark.parametrize("kind", ["connection-close", "early-404-with-1-mb"])
def test_a_client_keeping_a_closed_connection_open_stalls_nobody(one_worker, kind):
    """After an answer that closes the connection, a client that keeps its end open
    holds at most the thread that served it, never the worker's other clients."""
    server = one_worker
    if kind == "connection-close":
        request = raw_http.head("GET", "/versions", {"Connection": "close"})
    else:
        request = raw_http.head("PUT", f"/v2/images/{uuid.uuid4()}/file", {
            **helpers.MEMBER, **OCTETS, "Content-Length": str(MB)}) + b"\x04" * MB
    lingering = raw_http.connect(server)
    with lingering:
        lingering.sendall(request)
        response = raw_http.read_response(lingering)
        assert not response.keeps_alive
        for _ in range(3):
            started = time.monotonic()
            assert requests.get(f"{server.url}/versions", timeout=10).status_code == 200
            assert time.monotonic() - started < 0.5
        assert raw_http.closed_cleanly(lingering)

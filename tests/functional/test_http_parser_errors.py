"""Requests the HTTP parser refuses before any application code runs, against the
real glance-api: the answer is a JSON error like every other (``message``, ``code``,
``title``), with the right status, ``Content-Type: application/json`` and
``Connection: close``, never gunicorn's HTML page."""

from __future__ import annotations

import json

import pytest

from tests.functional import raw_http

IDENTITY = b"X-Roles: admin,member,reader\r\nX-Project-Id: p\r\nX-User-Id: u\r\n"

CASES: dict[str, tuple[bytes, int]] = {
    "0xff-in-path": (b"GET /v2/images/\xff HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "9000-char-path": (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    "9000-char-query": (b"GET /v2/images?name=" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", 414),
    "101-headers": (b"GET /v2/images HTTP/1.1\r\n"
                    + b"".join(b"X-H%d: v\r\n" % i for i in range(101)) + b"\r\n", 431),
    "header-over-16384": (b"GET /v2/images HTTP/1.1\r\nX-Big: " + b"a" * 16400
                          + b"\r\n\r\n", 431),
    "expect-teapot": (b"GET /v2/images HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n", 417),
    "garbage-request-line": (b"GARBAGE\r\n\r\n", 400),
    "bad-method": (b"G@T /v2/images HTTP/1.1\r\n\r\n", 400),
    "bad-header-name": (b"GET /v2/images HTTP/1.1\r\nBad Name: v\r\n\r\n", 400),
    "header-without-colon": (b"GET /v2/images HTTP/1.1\r\nNoColon\r\n\r\n", 400),
    "malformed-version": (b"GET /v2/images HTTP/1.x\r\n\r\n", 400),
    "unsupported-version": (b"GET /v2/images HTTP/9.9\r\n\r\n", 505),
    "unknown-transfer-coding": (b"POST /v2/images HTTP/1.1\r\nTransfer-Encoding: foo\r\n"
                                b"\r\n", 501),
    "content-length-and-chunked": (b"POST /v2/images HTTP/1.1\r\nContent-Length: 3\r\n"
                                   b"Transfer-Encoding: chunked\r\n\r\n", 400),
    "bad-content-length": (b"POST /v2/images HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400),
    "two-content-lengths": (b"POST /v2/images HTTP/1.1\r\nContent-Length: 1\r\n"
                            b"Content-Length: 2\r\n\r\n", 400),
    "obsolete-folding": (b"GET /v2/images HTTP/1.1\r\nX-A: b\r\n  c\r\n\r\n", 400),
    "bare-lf": (b"GET /v2/images HTTP/1.1\nHost: x\n\n", 400),
    "nul-in-header": (b"GET /v2/images HTTP/1.1\r\nX-A: b\x00c\r\n\r\n", 400),
    "chunked-http-1.0": (b"POST /v2/images HTTP/1.0\r\nTransfer-Encoding: chunked\r\n"
                         b"\r\n", 400),
}


@pytest.mark.parametrize("case", list(CASES))
def test_parser_errors_are_json(server, case):
    request, status = CASES[case]
    sock = raw_http.connect(server)
    with sock:
        sock.sendall(request)
        response = raw_http.read_response(sock)
        assert response.status == status, (response.raw_head, response.body[:300])
        assert response.headers["content-type"] == "application/json"
        assert response.headers["connection"] == "close"
        assert b"<html" not in (response.raw_head + response.body).lower()
        body = json.loads(response.body)
        assert set(body) == {"message", "code", "title"}
        assert body["code"] == f"{status} {body['title']}" == f"{status} {response.reason}"
        assert body["message"] and "\\x" not in body["message"]
        assert raw_http.closed_cleanly(sock)


def test_parser_error_on_a_keep_alive_connection(server):
    """A bad second request on a kept-alive connection: the first is served, the
    second answered in JSON, then the connection is closed."""
    sock = raw_http.connect(server)
    with sock:
        sock.sendall(b"GET /versions HTTP/1.1\r\nHost: x\r\n\r\n")
        first = raw_http.read_response(sock)
        assert first.status == 200 and first.keeps_alive
        sock.sendall(b"GET /v2/images HTTP/1.1\r\nBad Name: v\r\n" + IDENTITY + b"\r\n")
        second = raw_http.read_response(sock)
        assert second.status == 400
        assert json.loads(second.body)["code"] == "400 Bad Request"
        assert raw_http.closed_cleanly(sock)


def test_the_server_still_serves_afterwards(server):
    sock = raw_http.connect(server)
    with sock:
        sock.sendall(b"GET /v2/images?limit=1 HTTP/1.1\r\nHost: x\r\n" + IDENTITY + b"\r\n")
        assert raw_http.read_response(sock).status == 200

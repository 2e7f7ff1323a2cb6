"""Bad chunked framing on every deployment (standalone, Apache mod_wsgi, uwsgi).

The rule everywhere: an upload or a metadata call with broken chunk framing is
refused with a 4xx, quickly, and an image never takes data from such a body. Our
standalone ``glance-api`` also answers in JSON (``tests/functional/
test_chunked_framing.py`` covers it call by call). Apache parses the framing
itself and answers with its own HTML error page; uwsgi's chunked parser is
lenient. What a server gets wrong is marked ``xfail(strict=True)`` below with
the reason, so a fix (or a regression) shows up.
"""

from __future__ import annotations

import socket
import time
import uuid

import pytest
import requests

from tests import helpers
from tests.deploy import servers
from tests.functional import raw_http

HEADERS = helpers.ADMIN

CASES = {
    **raw_http.BAD_CHUNKED_BODIES,
    "bad-size-after-data": b"3\r\nabc\r\nzz\r\n\r\n",
    "2^80": b"100000000000000000000\r\nabc",
    "over-image-cap": b"10000000001\r\nabc",  # 2^40 + 1, image_size_cap 1 TiB
}

UWSGI_LENIENT = "uwsgi's chunked parser takes what it cannot parse as the last chunk"
APACHE = ("apache", "apache-prefix")
KNOWN: dict[tuple[str, str, str], str] = {
    **{("uwsgi", "upload", case): UWSGI_LENIENT
       for case in ("letters", "0x-prefix", "missing-terminator", "bad-size-after-data")},
    **{("uwsgi", call, case): "uwsgi waits for the chunk (chunked-input-timeout)"
       for call in ("upload", "create") for case in ("over-image-cap", "size-line-without-end")},
    **{(name, "upload", "bad-extension"): "Apache accepts a malformed chunk extension"
       for name in APACHE},
    **{(name, call, "over-image-cap"): "Apache waits for the chunk (Timeout)"
       for name in APACHE for call in ("upload", "create")},
}


def _create(url: str) -> str:
    response = requests.post(f"{url}/v2/images", headers=HEADERS, timeout=30,
                             json={"name": f"framing-{uuid.uuid4().hex[:6]}",
                                   "disk_format": "raw", "container_format": "bare"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _status_line(deployment: servers.Deployment, path: str, content_type: str,
                 body: bytes) -> tuple[int, bytes]:
    """Send a chunked request; the status and the whole answer (or 0 on a timeout)."""
    with socket.create_connection(("127.0.0.1", deployment.port), timeout=10) as sock:
        sock.sendall(raw_http.head("PUT" if path.endswith("/file") else "POST",
                                   deployment.prefix + path, {
                                       **HEADERS, "Content-Type": content_type,
                                       "Accept": "application/json",
                                       "Transfer-Encoding": "chunked"}) + body)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except TimeoutError:
            return 0, answer
    return int(answer.split(b" ", 2)[1]) if answer else 0, answer


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("call", ["create", "upload"])
def test_bad_chunk_framing_is_refused(deployment, request, call, case):
    reason = KNOWN.get((deployment.name, call, case))
    if reason:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
    url = deployment.url
    image_id = _create(url) if call == "upload" else None
    started = time.monotonic()
    if call == "upload":
        status, answer = _status_line(deployment, f"/v2/images/{image_id}/file",
                                      "application/octet-stream", CASES[case])
    else:
        status, answer = _status_line(deployment, "/v2/images", "application/json",
                                      CASES[case])
    assert 400 <= status < 500, answer[:300]
    assert time.monotonic() - started < 10
    if deployment.name == "standalone":
        assert b"Content-Type: application/json" in answer
    if image_id:
        # Apache answers from its own process: the daemon may start (and then
        # fail) the upload only afterwards.
        def shown() -> dict:
            return requests.get(f"{url}/v2/images/{image_id}", headers=HEADERS,
                                timeout=30).json()
        if deployment.name != "standalone":
            time.sleep(1)
        assert helpers.wait_until(lambda: shown()["status"] != "saving", 30)
        assert (shown()["status"], shown()["size"]) == ("queued", None), shown()

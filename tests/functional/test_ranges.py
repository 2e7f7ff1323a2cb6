"""RFC 7233 ranges on image downloads, checked byte for byte (in-process and real)."""

import re

import pytest
import requests

from tests import helpers

DATA = bytes(range(40))  # a 40-byte image, as in Glance's own observations


@pytest.fixture(scope="module")
def image(app) -> tuple[str, str]:
    """An active 40-byte image; returns (file URL, ETag)."""
    response = app.post_json("/v2/images", {"name": "r", "disk_format": "raw",
                                            "container_format": "bare"},
                             headers=helpers.MEMBER)
    image_id = response.json["id"]
    app.put(f"/v2/images/{image_id}/file", DATA,
            headers={**helpers.MEMBER, "Content-Type": "application/octet-stream"},
            status=204)
    url = f"/v2/images/{image_id}/file"
    etag = app.get(url, headers=helpers.MEMBER).headers["ETag"]
    return url, etag


def get(app, url, status, **headers):
    return app.get(url, headers={**helpers.MEMBER, **headers}, status=status)


HUGE = "9" * 40  # beyond any 64-bit size
START_BEYOND = ("Invalid start position in Range header. Start position MUST be in the "
                "inclusive range [0, 39].")
LEGACY_INVALID = "Invalid Content-Range header."
LEGACY_START = ("Invalid start position in Content-Range header. Start position MUST be "
                "in the inclusive range [0, 39].")
LEGACY_STOP = ("Invalid stop position in Content-Range header. The stop position MUST be "
               "in the inclusive range [0, 39].")
JSON = {"Accept": "application/json"}


@pytest.mark.parametrize("header, start, stop", [
    ("bytes=0-9", 0, 10), ("bytes=5-", 5, 40), ("bytes=-5", 35, 40),
    ("bytes=39-", 39, 40), ("bytes=0-39", 0, 40), ("bytes=0-100", 0, 40),
    ("bytes=-100", 0, 40), ("bytes=10-10", 10, 11), ("BYTES = 3-4", 3, 5),
    ("bytes=0-40", 0, 40), ("bytes=-40", 0, 40), ("bytes=-41", 0, 40),
    ("bytes=0-", 0, 40), (f"bytes=0-{HUGE}", 0, 40), (f"bytes=1-{HUGE}", 1, 40),
    (f"bytes=-{HUGE}", 0, 40), (f"bytes=0-{'9' * 6000}", 0, 40),
    ("bytes=00000000000000000000000000000000000005-9", 5, 10),
])
def test_single_range(app, image, header, start, stop):
    url, _ = image
    response = get(app, url, 206, Range=header)
    assert response.body == DATA[start:stop]
    assert response.headers["Content-Range"] == f"bytes {start}-{stop - 1}/40"
    assert response.headers["Content-Length"] == str(stop - start)
    assert response.headers["Content-MD5"]  # of the whole image, as Glance


@pytest.mark.parametrize("header, message", [
    ("bytes=40-", START_BEYOND), ("bytes=100-200", START_BEYOND),
    (f"bytes={HUGE}-", START_BEYOND), ("bytes=-0", "Requested range not satisfiable"),
    ("bytes=40-50,60-70", "Requested range not satisfiable")])
def test_unsatisfiable_is_416(app, image, header, message):
    """416 as Glance (its message for a first-byte-pos past the end), but with the
    RFC 7233 ``Content-Range: bytes */SIZE`` that Glance leaves out."""
    url, _ = image
    response = get(app, url, 416, Range=header, **JSON)
    assert response.headers["Content-Range"] == "bytes */40"
    assert response.json["message"] == message


@pytest.mark.parametrize("header", ["bytes=9-0", "items=0-9", "bytes=abc", "bytes=",
                                    "bytes=-", "bytes=1-2,x-3"])
def test_malformed_range_is_ignored(app, image, header):
    url, _ = image
    response = get(app, url, 200, Range=header)
    assert response.body == DATA
    assert "Content-Range" not in response.headers


def _parts(response) -> list[tuple[str, bytes]]:
    boundary = re.search(r"boundary=(\S+)", response.headers["Content-Type"]).group(1)
    body = response.body
    assert body.endswith(f"--{boundary}--\r\n".encode())
    parts = []
    for raw in body.split(f"--{boundary}".encode())[1:-1]:
        head, _, data = raw.partition(b"\r\n\r\n")
        content_range = re.search(rb"Content-Range: ([^\r\n]*)", head).group(1).decode()
        assert data.endswith(b"\r\n")
        parts.append((content_range, data[:-2]))
    return parts


def test_multiple_ranges_are_multipart(app, image):
    url, _ = image
    response = get(app, url, 206, Range="bytes=0-9,20-29,-3")
    assert response.headers["Content-Type"].startswith("multipart/byteranges; boundary=")
    assert int(response.headers["Content-Length"]) == len(response.body)
    assert _parts(response) == [("bytes 0-9/40", DATA[0:10]),
                                ("bytes 20-29/40", DATA[20:30]),
                                ("bytes 37-39/40", DATA[37:40])]


def test_multiple_ranges_with_one_satisfiable_is_single(app, image):
    url, _ = image
    response = get(app, url, 206, Range="bytes=5-9,100-200")
    assert response.headers["Content-Range"] == "bytes 5-9/40"
    assert response.body == DATA[5:10]


def test_if_range(app, image):
    url, etag = image
    response = get(app, url, 206, Range="bytes=0-9", **{"If-Range": etag})
    assert response.body == DATA[:10]
    response = get(app, url, 200, Range="bytes=0-9", **{"If-Range": '"other"'})
    assert response.body == DATA
    response = get(app, url, 200, Range="bytes=0-9,20-29", **{"If-Range": '"other"'})
    assert response.body == DATA


def test_if_none_match(app, image):
    url, etag = image
    assert get(app, url, 304, **{"If-None-Match": etag}).body == b""
    assert get(app, url, 200, **{"If-None-Match": '"other"'}).body == DATA


@pytest.mark.parametrize("header, start, stop", [
    ("bytes 0-9/*", 0, 10), ("bytes 0-9/40", 0, 10), ("bytes 30-39/*", 30, 40),
    ("bytes 39-39/40", 39, 40), ("bytes 0-9/10", 0, 10), (" bytes 0-9/* ", 0, 10)])
def test_legacy_content_range(app, image, header, start, stop):
    url, _ = image
    response = get(app, url, 206, **{"Content-Range": header})
    assert response.body == DATA[start:stop]
    assert response.headers["Content-Range"] == f"bytes {start}-{stop - 1}/40"


@pytest.mark.parametrize("header, message", [
    ("bytes 30-49/*", LEGACY_STOP), ("bytes 50-60/*", LEGACY_STOP),
    (f"bytes 0-{HUGE}/*", LEGACY_STOP), ("bytes 40-45/100", LEGACY_START),
    # Glance answers this one 206 with a Content-Length it cannot fill: 416 here.
    ("bytes 0-50/100", LEGACY_STOP)])
def test_legacy_content_range_past_the_end_is_416(app, image, header, message):
    url, _ = image
    response = get(app, url, 416, **{"Content-Range": header}, **JSON)
    assert response.headers["Content-Range"] == "bytes */40"
    assert response.json["message"] == message


@pytest.mark.parametrize("header", [
    "bytes */40", "bytes 9-0/*", "bytes 0-9", "0-9/*", "bytes=0-9", "bytes 0-50/40",
    "bytes a-b/*", "", "BYTES 0-9/*", "bytes  0-9/*", "bytes 0-9/5", "bytes 0-39/39",
    "bytes -5/*"])
def test_malformed_legacy_content_range_is_416(app, image, header):
    """Glance's 416 'Invalid Content-Range header.' (``bytes */40`` crashes Glance
    with no response at all; the same clean 416 here)."""
    url, _ = image
    response = get(app, url, 416, **{"Content-Range": header}, **JSON)
    assert response.json["message"] == LEGACY_INVALID
    assert response.headers["Content-Range"] == "bytes */40"


def test_range_wins_over_content_range(app, image):
    url, _ = image
    response = get(app, url, 206, Range="bytes=0-9", **{"Content-Range": "bytes 20-29/*"})
    assert response.body == DATA[:10]
    response = get(app, url, 206, Range="bytes=0-9", **{"Content-Range": "bytes */40"})
    assert response.body == DATA[:10]


def test_content_range_matters_only_to_downloads(app, image):
    """As in Glance, other GETs (and a download without data) ignore the header."""
    url, _ = image
    image_url = url.rsplit("/", 1)[0]
    for path in ("/v2/images", image_url, "/v2/schemas/image"):
        get(app, path, 200, **{"Content-Range": "bytes */40"})
    queued = app.post_json("/v2/images", {"name": "q"}, headers=helpers.MEMBER).json["id"]
    get(app, f"/v2/images/{queued}/file", 204, **{"Content-Range": "bytes */40"})
    get(app, "/v2/images/0b1d9ce4-4a52-4d6b-8b7c-4d8a8e0c9f00/file", 404,
        **{"Content-Range": "bytes */40"})


# -- the same through a real server (sendfile path for full downloads) -------------------

def test_ranges_on_real_server(server):
    headers = helpers.MEMBER
    image_id = requests.post(f"{server.url}/v2/images", headers=headers, json={
        "disk_format": "raw", "container_format": "bare"}).json()["id"]
    url = f"{server.url}/v2/images/{image_id}/file"
    requests.put(url, data=DATA, headers={**headers,
                                          "Content-Type": "application/octet-stream"})
    full = requests.get(url, headers=headers)
    assert (full.status_code, full.content) == (200, DATA)
    assert full.headers["Content-Length"] == "40"
    part = requests.get(url, headers={**headers, "Range": "bytes=10-19"})
    assert (part.status_code, part.content) == (206, DATA[10:20])
    resumed = requests.get(url, headers={**headers, "Range": "bytes=25-",
                                         "If-Range": full.headers["ETag"]})
    assert DATA[:25] + resumed.content == DATA
    clamped = requests.get(url, headers={**headers, "Range": f"bytes=0-{HUGE}"})
    assert (clamped.status_code, clamped.content) == (206, DATA)
    assert clamped.headers["Content-Range"] == "bytes 0-39/40"
    bad = requests.get(url, headers={**headers, "Content-Range": "bytes */40"})
    assert (bad.status_code, bad.headers["Content-Range"]) == (416, "bytes */40")

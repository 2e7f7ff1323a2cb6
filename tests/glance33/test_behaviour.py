"""Black-box: the same requests to a running Glance 33 and to ours, side by side.

Covers the differences fixed for issue 16 (data without formats, replacing an active
image's locations, Range clamping, the legacy Content-Range request header). Where
we answer differently on purpose, DELIBERATE says how and why, and the test checks
that the difference is exactly that one.
"""

import re

import pytest
import requests

from tests import helpers
from tests.functional.http_source import HTTPSource
from tests.glance33 import server as glance33_server

DATA = bytes(range(40))  # the 40-byte image of GLANCE-33-BEHAVIOUR.md
OCTET = {"Content-Type": "application/octet-stream"}
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
JSON = {"Accept": "application/json"}
HUGE = "9" * 40


class Side:
    """One server as the tests talk to it."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url = url
        self.headers = {**headers, **JSON}

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return requests.request(method, self.url + path, headers=headers, timeout=30,
                                **kwargs)

    def create(self, **attrs) -> str:
        response = self.request("POST", "/v2/images", json={"name": "cmp", **attrs})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def show(self, image_id: str) -> dict:
        return self.request("GET", f"/v2/images/{image_id}").json()

    def patch(self, image_id: str, ops: list) -> requests.Response:
        return self.request("PATCH", f"/v2/images/{image_id}", json=ops, headers=PATCH)


def message(response: requests.Response) -> str:
    """The error message without Glance's HTML leftovers and webob's stock lines."""
    text = response.json()["message"]
    lines = [line.strip() for line in re.split(r"<br />|\n", text)]
    stock = {"The Range requested is not available.", "Access was denied to this resource.",
             "There was a conflict when trying to complete your request."}
    return " ".join(line for line in lines if line and line not in stock)


@pytest.fixture(scope="module")
def source():
    with HTTPSource({"/a": DATA, "/b": DATA, "/c": DATA}) as src:
        yield src


@pytest.fixture(scope="module")
def sides(tmp_path_factory, start_server):
    glance = glance33_server.Glance33(
        tmp_path_factory.mktemp("glance33-behaviour"), threads=4,
        sections={"import_filtering_opts": {"allowed_hosts": "[127.0.0.1]",
                                            "allowed_ports": "[]"}}).start()
    ours = start_server({"DEFAULT": {"show_multiple_locations": "True"},
                         "import_filtering_opts": {"allowed_hosts": "127.0.0.1",
                                                   "allowed_ports": ""}},
                        name="glance33-compare")
    yield {"glance": Side(glance.url, glance33_server.identity()),
           "ours": Side(ours.url, helpers.MEMBER)}
    glance.stop()


def both(sides, call):
    """``call(side)`` on each server: {"glance": result, "ours": result}."""
    return {name: call(side) for name, side in sides.items()}


# -- data without formats ---------------------------------------------------------------

FORMATS = [{}, {"disk_format": "raw"}, {"container_format": "bare"}]


@pytest.mark.parametrize("attrs", FORMATS, ids=["neither", "disk-only", "container-only"])
def test_upload_without_formats(sides, attrs):
    def run(side: Side):
        image_id = side.create(**attrs)
        response = side.request("PUT", f"/v2/images/{image_id}/file", data=DATA,
                                headers=OCTET)
        image = side.show(image_id)
        return response.status_code, message(response), image["status"], image["size"]

    results = both(sides, run)
    assert results["ours"] == results["glance"]
    assert results["ours"][0] == 400


@pytest.mark.parametrize("attrs", FORMATS, ids=["neither", "disk-only", "container-only"])
def test_stage_then_import_without_formats(sides, attrs):
    def run(side: Side):
        image_id = side.create(**attrs)
        staged = side.request("PUT", f"/v2/images/{image_id}/stage", data=DATA,
                              headers=OCTET)
        imported = side.request("POST", f"/v2/images/{image_id}/import",
                                json={"method": {"name": "glance-direct"}})
        return (staged.status_code, imported.status_code, message(imported),
                side.show(image_id)["status"])

    results = both(sides, run)
    assert results["ours"] == results["glance"]
    assert results["ours"][:2] == (204, 409)


def test_web_download_without_formats(sides, source):
    def run(side: Side):
        image_id = side.create()
        response = side.request("POST", f"/v2/images/{image_id}/import", json={
            "method": {"name": "web-download", "uri": source.url("/a")}})
        return response.status_code, message(response), side.show(image_id)["status"]

    results = both(sides, run)
    assert results["ours"] == results["glance"] == (
        409, "'container_format' needs to be set before import", "queued")


@pytest.mark.parametrize("op", ["add", "replace"])
def test_first_location_without_formats(sides, source, op):
    def run(side: Side):
        image_id = side.create(disk_format="raw")
        value = {"url": source.url("/a"), "metadata": {}}
        ops = ([{"op": "add", "path": "/locations/-", "value": value}] if op == "add"
               else [{"op": "replace", "path": "/locations", "value": [value]}])
        response = side.patch(image_id, ops)
        image = side.show(image_id)
        return response.status_code, message(response), image["status"], image["locations"]

    results = both(sides, run)
    assert results["ours"] == results["glance"] == (
        400, "Property container_format must be set prior to saving data.", "queued", [])


# -- replacing an active image's locations ---------------------------------------------

def _active_with_two(side: Side, source) -> str:
    image_id = side.create(disk_format="raw", container_format="bare")
    for name in ("/a", "/b"):
        response = side.patch(image_id, [{"op": "add", "path": "/locations/-", "value": {
            "url": source.url(name), "metadata": {}}}])
        assert response.status_code == 200, response.text
    return image_id


@pytest.mark.parametrize("case", ["reorder", "metadata", "new-url", "fewer", "more",
                                  "repeated"])
def test_replace_active_locations(sides, source, case):
    a, b, c = source.url("/a"), source.url("/b"), source.url("/c")
    value = {"reorder": [b, a], "metadata": [a, b], "new-url": [a, c], "fewer": [a],
             "more": [a, b, c], "repeated": [a, a, b]}[case]

    def run(side: Side):
        image_id = _active_with_two(side, source)
        response = side.patch(image_id, [{"op": "replace", "path": "/locations", "value": [
            {"url": url, "metadata": {"n": str(i)}} for i, url in enumerate(value)]}])
        locations = side.show(image_id)["locations"]
        # Glance adds its store id to the metadata; ours, single-store here, does not.
        seen = [(loc["url"], {k: v for k, v in loc["metadata"].items() if k != "store"})
                for loc in locations]
        text = message(response) if response.status_code != 200 else ""
        return response.status_code, text.split(":")[0], seen

    results = both(sides, run)
    assert results["ours"] == results["glance"]
    assert results["ours"][0] == (200 if case in ("reorder", "metadata") else 400)


# -- ranges ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def images(sides) -> dict[str, str]:
    """An active 40-byte image on each side: side -> file path."""
    paths = {}
    for name, side in sides.items():
        image_id = side.create(disk_format="raw", container_format="bare")
        response = side.request("PUT", f"/v2/images/{image_id}/file", data=DATA,
                                headers=OCTET)
        assert response.status_code == 204, response.text
        paths[name] = f"/v2/images/{image_id}/file"
    return paths


def _download(sides, images, headers: dict[str, str]) -> dict[str, tuple]:
    def run(name: str):
        try:
            response = sides[name].request("GET", images[name], headers=headers)
        except requests.ConnectionError:
            return ("no response",)
        if response.status_code == 206:
            return 206, response.headers.get("Content-Range"), response.content
        if response.status_code == 200:
            return 200, response.content
        return response.status_code, message(response)
    return {name: run(name) for name in sides}


SAME_RANGES = ["bytes=0-9", "bytes=5-", "bytes=-5", "bytes=39-", "bytes=0-39",
               "bytes=0-40", "bytes=0-100", "bytes=-100", "bytes=-40", "bytes=-41",
               "bytes=0-", f"bytes=0-{HUGE}", f"bytes=-{HUGE}", "BYTES = 3-4",
               "bytes=40-", "bytes=100-200", f"bytes={HUGE}-"]


@pytest.mark.parametrize("header", SAME_RANGES)
def test_range_as_glance(sides, images, header):
    results = _download(sides, images, {"Range": header})
    assert results["ours"] == results["glance"]


SAME_LEGACY = ["bytes 0-9/*", "bytes 0-9/40", "bytes 30-39/*", "bytes 39-39/40",
               "bytes 30-49/*", "bytes 50-60/*", f"bytes 0-{HUGE}/*", "bytes 40-45/100",
               "bytes 9-0/*", "bytes 0-9", "0-9/*", "bytes=0-9", "bytes 0-50/40",
               "bytes a-b/*", "BYTES 0-9/*", "bytes 0-9/5", "bytes 0-39/39"]


@pytest.mark.parametrize("header", SAME_LEGACY)
def test_legacy_content_range_as_glance(sides, images, header):
    results = _download(sides, images, {"Content-Range": header})
    assert results["ours"] == results["glance"]


def test_range_wins_over_content_range(sides, images):
    results = _download(sides, images, {"Range": "bytes=0-9",
                                        "Content-Range": "bytes 20-29/*"})
    assert results["ours"] == results["glance"] == (206, "bytes 0-9/40", DATA[:10])


# (headers, Glance 33's answer, ours, why)
DELIBERATE = [
    ({"Range": "bytes=-0"}, (206, "bytes 0-39/40", DATA),
     (416, "Requested range not satisfiable"),
     "RFC 7233: a suffix of zero bytes is unsatisfiable; Glance sends everything"),
    ({"Range": "bytes=9-0"}, (416, "Invalid Range header."), (200, DATA),
     "RFC 7233: an invalid range set is ignored"),
    ({"Range": "bytes=abc"}, (416, "Invalid Range header."), (200, DATA),
     "RFC 7233: an invalid range set is ignored"),
    ({"Range": "bytes=0-9,20-29"}, (400, "Requests with multiple ranges are not supported "
                                         "in Glance. You may make multiple single-range "
                                         "requests instead."),
     None, "RFC 7233: several ranges are served as multipart/byteranges"),
    ({"Content-Range": "bytes */40"}, ("no response",),
     (416, "Invalid Content-Range header."),
     "Glance crashes ('ImageProxy' object is not callable); a clean 416 here"),
    ({"Content-Range": "bytes 0-50/100"}, None,
     (416, "Invalid stop position in Content-Range header. The stop position MUST be "
           "in the inclusive range [0, 39]."),
     "Glance answers 206 with a Content-Length it cannot fill"),
]


@pytest.mark.parametrize(("headers", "glance", "ours", "why"), DELIBERATE,
                         ids=[next(iter(h.values())) for h, *_ in DELIBERATE])
def test_deliberate_range_differences(sides, images, headers, glance, ours, why):
    if glance is None:  # a broken Glance response: requests may not read it cleanly
        sides = {"ours": sides["ours"]}
    results = _download(sides, images, headers)
    if glance is not None:
        assert results["glance"] == glance, why
    if ours is None:
        response = sides["ours"].request("GET", images["ours"], headers=headers)
        assert response.status_code == 206, why
        assert response.headers["Content-Type"].startswith("multipart/byteranges"), why
    else:
        assert results["ours"] == ours, why


def test_416_carries_content_range_here_only(sides, images):
    """RFC 7233 wants ``Content-Range: bytes */SIZE`` on a 416; Glance sends none."""
    responses = {name: side.request("GET", images[name], headers={"Range": "bytes=40-"})
                 for name, side in sides.items()}
    assert responses["glance"].status_code == responses["ours"].status_code == 416
    assert "Content-Range" not in responses["glance"].headers
    assert responses["ours"].headers["Content-Range"] == "bytes */40"


# -- HEAD on the data ---------------------------------------------------------------------

def test_head_on_image_data_is_405_as_glance(sides, images):
    """Glance 33 routes GET and PUT only on /file (HEAD is not a GET there)."""
    results = {name: sides[name].request("HEAD", images[name]) for name in sides}
    for response in results.values():
        assert response.status_code == 405
        assert response.headers["Allow"] == "GET, PUT"

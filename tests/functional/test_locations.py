"""Image locations against a real glance-api: the 409 rule table of JSON-patch on
/locations (queued, saving held open by a slow upload, active, deactivated,
uploading), validation (store, datadir, traversal, filtering, duplicates, sizes,
validation_data), cross-project attempts, hidden locations, and the v2.17
locations API (POST in the background with hashing, GET for service/admin)."""

import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from tests import helpers
from tests.functional.http_source import HTTPSource

DATA = b"location data " * 300
OTHER = b"different size"
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
JSON = {"Accept": "application/json"}
ADMIN, MEMBER, OTHER_MEMBER = helpers.ADMIN, helpers.MEMBER, helpers.OTHER_MEMBER
SERVICE = helpers.identity("service,reader", user="nova")
LOOPBACK = {"allowed_hosts": "127.0.0.1", "allowed_ports": ""}
MD5 = hashlib.md5(DATA, usedforsecurity=False).hexdigest()
SHA512 = hashlib.sha512(DATA).hexdigest()
VALID = {"checksum": MD5, "os_hash_algo": "sha512", "os_hash_value": SHA512}


# -- a data source on 127.0.0.1 ---------------------------------------------------------

@pytest.fixture(scope="module")
def source() -> Iterator[str]:
    files = {"/img": DATA, "/img2": DATA, "/img3": DATA, "/other": OTHER}
    with HTTPSource(files) as src:
        yield src.url("")


@pytest.fixture(scope="module")
def legacy(start_server):
    """show_multiple_locations on, loopback allowed for the test's data source."""
    return start_server({"DEFAULT": {"show_multiple_locations": "True"},
                         "import_filtering_opts": LOOPBACK}, name="locations-legacy")


@pytest.fixture(scope="module")
def modern(start_server):
    """The default show_multiple_locations (off), loopback allowed."""
    return start_server({"import_filtering_opts": LOOPBACK}, name="locations-api")


# -- helpers ----------------------------------------------------------------------------

def create(server, headers=MEMBER, **attrs) -> str:
    body = {"name": "loc", "disk_format": "raw", "container_format": "bare", **attrs}
    response = requests.post(f"{server.url}/v2/images", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def show(server, image_id, headers=MEMBER) -> dict:
    response = requests.get(f"{server.url}/v2/images/{image_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def upload(server, image_id, data=DATA, headers=MEMBER) -> None:
    response = requests.put(f"{server.url}/v2/images/{image_id}/file", data=data,
                            headers={**headers, "Content-Type": "application/octet-stream"})
    assert response.status_code == 204, response.text


def patch(server, image_id, ops, headers=MEMBER) -> requests.Response:
    return requests.patch(f"{server.url}/v2/images/{image_id}", json=ops,
                          headers={**headers, **PATCH, **JSON})


def loc(url: str, **extra) -> dict:
    return {"url": url, "metadata": extra.pop("metadata", {}), **extra}


def add_op(url: str, index: str = "-", **extra) -> list[dict]:
    return [{"op": "add", "path": f"/locations/{index}", "value": loc(url, **extra)}]


def active_image(server, source, headers=MEMBER) -> str:
    """An active image with two locations: its uploaded file and an http copy."""
    image_id = create(server, headers)
    upload(server, image_id, headers=headers)
    response = patch(server, image_id, add_op(f"{source}/img"), headers)
    assert response.status_code == 200, response.text
    return image_id


def deactivated_image(server, source) -> str:
    image_id = active_image(server, source)
    response = requests.post(f"{server.url}/v2/images/{image_id}/actions/deactivate",
                             headers=ADMIN)
    assert response.status_code == 204, response.text
    return image_id


def uploading_image(server) -> str:
    image_id = create(server)
    response = requests.put(f"{server.url}/v2/images/{image_id}/stage", data=DATA,
                            headers={**MEMBER, "Content-Type": "application/octet-stream"})
    assert response.status_code == 204, response.text
    return image_id


def message(response: requests.Response) -> str:
    return response.json()["message"]


def operation(op: str, source: str, image_locations: list) -> list[dict]:
    """One JSON-patch of kind ``op`` that is valid for an image's current locations."""
    if op == "add":
        return add_op(f"{source}/img3")
    if op == "replace":
        value = ([{"url": item["url"], "metadata": {"k": "v"}} for item in image_locations]
                 or [loc(f"{source}/img")])
        return [{"op": "replace", "path": "/locations", "value": value}]
    return [{"op": "remove", "path": "/locations/0"}]


# -- the rule table ---------------------------------------------------------------------

EXPECTED = {
    ("add", "queued"): 200, ("add", "active"): 200, ("add", "deactivated"): 409,
    ("add", "uploading"): 409,
    ("replace", "queued"): 200, ("replace", "active"): 200,
    ("replace", "deactivated"): 409, ("replace", "uploading"): 409,
    ("remove", "queued"): 409, ("remove", "active"): 200, ("remove", "deactivated"): 409,
    ("remove", "uploading"): 409,
}


@pytest.mark.parametrize(("op", "status"), sorted(EXPECTED),
                         ids=[f"{op}-{status}" for op, status in sorted(EXPECTED)])
def test_rule_table(legacy, source, op, status):
    make = {"queued": create, "active": lambda s: active_image(s, source),
            "deactivated": lambda s: deactivated_image(s, source),
            "uploading": uploading_image}[status]
    image_id = make(legacy)
    before = show(legacy, image_id, ADMIN)
    assert before["status"] == status
    response = patch(legacy, image_id, operation(op, source, before["locations"]), ADMIN)
    assert response.status_code == EXPECTED[op, status], response.text
    after = show(legacy, image_id, ADMIN)
    if response.status_code == 409:
        assert message(response).startswith(
            f"It's not allowed to {op} locations if image status is {status}.")
        assert after["locations"] == before["locations"]
        assert after["status"] == status
    else:
        assert after["status"] == "active"


def test_saving_is_409_for_every_operation(legacy, source):
    """Hold an upload open (chunked, slow) and patch the locations while it runs."""
    image_id = create(legacy)
    go_on = threading.Event()
    result: dict = {}

    def body() -> Iterator[bytes]:
        yield DATA[:100]
        go_on.wait(60)
        yield DATA[100:]

    def run() -> None:
        result["response"] = requests.put(
            f"{legacy.url}/v2/images/{image_id}/file", data=body(),
            headers={**MEMBER, "Content-Type": "application/octet-stream"})

    thread = threading.Thread(target=run)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while show(legacy, image_id)["status"] != "saving":
            assert time.monotonic() < deadline, "the upload never reached saving"
            time.sleep(0.05)
        for op in ("add", "replace", "remove"):
            response = patch(legacy, image_id, operation(op, source, []), ADMIN)
            assert response.status_code == 409, (op, response.text)
            assert message(response).startswith(
                f"It's not allowed to {op} locations if image status is saving.")
        assert show(legacy, image_id)["status"] == "saving"
    finally:
        go_on.set()
        thread.join(60)
    assert result["response"].status_code == 204, result["response"].text
    image = show(legacy, image_id)
    assert image["status"] == "active" and image["checksum"] == MD5
    assert [item["url"] for item in image["locations"]] == [
        f"file://{legacy.state_path}/images/{image_id}"]


def test_first_location_makes_a_queued_image_active_with_its_size(legacy, source):
    image_id = create(legacy)
    response = patch(legacy, image_id, add_op(f"{source}/img"))
    assert response.status_code == 200, response.text
    image = response.json()
    assert image["status"] == "active" and image["size"] == len(DATA)
    assert image["checksum"] is None
    assert image["locations"] == [{"url": f"{source}/img", "metadata": {}}]
    data = requests.get(f"{legacy.url}/v2/images/{image_id}/file", headers=MEMBER)
    assert data.status_code == 200 and data.content == DATA


def test_replace_on_queued_with_validation_data_sets_the_hashes(legacy, source):
    image_id = create(legacy)
    value = [loc(f"{source}/img", validation_data=VALID)]
    response = patch(legacy, image_id,
                     [{"op": "replace", "path": "/locations", "value": value}])
    assert response.status_code == 200, response.text
    image = response.json()
    assert (image["status"], image["checksum"], image["os_hash_value"]) == (
        "active", MD5, SHA512)
    assert "validation_data" not in image["locations"][0]


def replace_op(value: list[dict]) -> list[dict]:
    return [{"op": "replace", "path": "/locations", "value": value}]


def test_replace_rules(legacy, source):
    image_id = active_image(legacy, source)
    urls = [item["url"] for item in show(legacy, image_id)["locations"]]
    empty = patch(legacy, image_id, replace_op([]))
    assert empty.status_code == 403 and "empty list" in message(empty)
    same = patch(legacy, image_id, replace_op([{"url": u, "metadata": {"n": i}}
                                               for i, u in enumerate(urls)]))
    assert same.status_code == 200, same.text
    assert [item["metadata"] for item in same.json()["locations"]] == [{"n": 0}, {"n": 1}]


def test_replace_on_an_active_image_may_reorder_and_change_metadata(legacy, source):
    """As Glance 33: the same set of URLs in any order, with new metadata, is 200; the
    data is neither checked again nor removed."""
    image_id = active_image(legacy, source)
    file_url, http_url = [item["url"] for item in show(legacy, image_id)["locations"]]
    swapped = patch(legacy, image_id, replace_op([
        loc(http_url, metadata={"k": "v"}), loc(file_url)]))
    assert swapped.status_code == 200, swapped.text
    expected = [{"url": http_url, "metadata": {"k": "v"}}, {"url": file_url, "metadata": {}}]
    assert swapped.json()["locations"] == expected
    image = show(legacy, image_id)
    assert image["locations"] == expected
    assert (image["status"], image["checksum"]) == ("active", MD5)
    assert os.path.exists(file_url[len("file://"):])
    # The first location now serves the data (the http copy: no ranges there).
    ranged = requests.get(f"{legacy.url}/v2/images/{image_id}/file",
                          headers={**MEMBER, "Range": "bytes=0-9"})
    assert ranged.status_code == 400
    back = patch(legacy, image_id, replace_op([loc(file_url), loc(http_url)]))
    assert back.status_code == 200, back.text
    assert [item["url"] for item in back.json()["locations"]] == [file_url, http_url]
    data = requests.get(f"{legacy.url}/v2/images/{image_id}/file",
                        headers={**MEMBER, "Range": "bytes=0-9"})
    assert (data.status_code, data.content) == (206, DATA[:10])


def test_replace_on_an_active_image_keeps_the_set_of_urls(legacy, source):
    """Another set of URLs (new, fewer, more, repeated) is 400 'Original locations is
    not empty', and nothing changes."""
    image_id = active_image(legacy, source)
    before = show(legacy, image_id)["locations"]
    file_url, http_url = [item["url"] for item in before]
    for value in ([loc(f"{source}/img2")], [loc(file_url)],
                  [loc(file_url), loc(http_url), loc(f"{source}/img2")],
                  [loc(file_url), loc(file_url)],
                  [loc(file_url), loc(http_url), loc(http_url)]):
        response = patch(legacy, image_id, replace_op(value))
        assert response.status_code == 400, (value, response.text)
        assert message(response).startswith("Original locations is not empty"), value
        assert show(legacy, image_id)["locations"] == before


def test_reordering_with_delayed_delete_keeps_the_data(start_server, source):
    """The rows a reordering replaces are not queued for the scrubber."""
    server = start_server({"DEFAULT": {"show_multiple_locations": "True",
                                       "delayed_delete": "True"},
                           "import_filtering_opts": LOOPBACK}, name="locations-delayed")
    image_id = active_image(server, source)
    file_url, http_url = [item["url"] for item in show(server, image_id)["locations"]]
    response = patch(server, image_id, replace_op([loc(http_url), loc(file_url)]))
    assert response.status_code == 200, response.text
    with sqlite3.connect(server.state_path / "glance.sqlite") as conn:
        rows = conn.execute("SELECT value, status FROM image_locations WHERE image_id = ?"
                            " ORDER BY id", (image_id,)).fetchall()
    assert ("pending_delete" not in {status for _, status in rows}), rows
    assert [url for url, status in rows if status == "active"] == [http_url, file_url]


@pytest.mark.parametrize(("attrs", "expected"), [
    ({}, "Properties disk_format, container_format must be set prior to saving data."),
    ({"disk_format": "raw"}, "Property container_format must be set prior to saving data.")],
    ids=["neither", "no-container-format"])
@pytest.mark.parametrize("op", ["add", "replace"])
def test_first_location_needs_the_formats(legacy, source, attrs, expected, op):
    """As Glance 33: a location is data, so a queued image needs both formats first."""
    response = requests.post(f"{legacy.url}/v2/images", headers=MEMBER,
                             json={"name": "bare", **attrs})
    image_id = response.json()["id"]
    ops = add_op(f"{source}/img") if op == "add" else replace_op([loc(f"{source}/img")])
    response = patch(legacy, image_id, ops)
    assert response.status_code == 400, response.text
    assert message(response) == expected
    image = show(legacy, image_id)
    assert (image["status"], image["size"], image["locations"]) == ("queued", None, [])


def test_remove_rules(legacy, source):
    image_id = active_image(legacy, source)
    file_url = show(legacy, image_id)["locations"][0]["url"]
    path = file_url[len("file://"):]
    assert os.path.exists(path)
    member = patch(legacy, image_id, [{"op": "remove", "path": "/locations/0"}])
    assert member.status_code == 403 and "delete_image_location" in message(member)
    out_of_range = patch(legacy, image_id, [{"op": "remove", "path": "/locations/2"}], ADMIN)
    assert out_of_range.status_code == 400
    first = patch(legacy, image_id, [{"op": "remove", "path": "/locations/0"}], ADMIN)
    assert first.status_code == 200, first.text
    assert [item["url"] for item in first.json()["locations"]] == [f"{source}/img"]
    assert not os.path.exists(path)  # the removed location's data went with it
    last = patch(legacy, image_id, [{"op": "remove", "path": "/locations/0"}], ADMIN)
    assert last.status_code == 403
    assert message(last).startswith("Cannot remove last location in the image.")
    data = requests.get(f"{legacy.url}/v2/images/{image_id}/file", headers=MEMBER)
    assert data.content == DATA


def test_whole_patch_is_atomic(legacy, source):
    image_id = create(legacy)
    response = patch(legacy, image_id, [
        {"op": "replace", "path": "/name", "value": "renamed"},
        *add_op(f"{source}/img"), *add_op("file:///etc/passwd")])
    assert response.status_code == 400
    image = show(legacy, image_id)
    assert (image["name"], image["status"], image["locations"]) == ("loc", "queued", [])


# -- validation -------------------------------------------------------------------------

def _refused_urls(server, source) -> dict[str, str]:
    datadir = f"{server.state_path}/images"
    return {
        "etc-passwd": "file:///etc/passwd",
        "traversal": f"file://{datadir}/../glance.sqlite",
        "traversal-deep": f"file://{datadir}/../../../../../../etc/passwd",
        "dot-segment": f"file://{datadir}/./x",
        "encoded-traversal": f"file://{datadir}/%2e%2e/glance.sqlite",
        "datadir-itself": f"file://{datadir}",
        "host-in-file-url": f"file://localhost{datadir}/x",
        "upper-case-scheme": f"FILE://{datadir}/x",
        "missing-file": f"file://{datadir}/no-such-file",
        "swift": "swift://account:key@example.com/container/object",
        "rbd": "rbd://fsid/pool/image/snap",
        "ftp": "ftp://127.0.0.1/data",
        "gopher": "gopher://127.0.0.1:70/_x",
        "no-scheme": "/etc/passwd",
        "http-404": f"{source}/missing",
        "http-redirect": f"{source}/redirect",
        "metadata-service": "http://169.254.169.254/latest/meta-data/",
        "http-other-size": f"{source}/other",
    }


REFUSED = ["etc-passwd", "traversal", "traversal-deep", "dot-segment",
           "encoded-traversal", "datadir-itself", "host-in-file-url", "upper-case-scheme",
           "missing-file", "swift", "rbd", "ftp", "gopher", "no-scheme", "http-404",
           "http-redirect", "metadata-service", "http-other-size"]


@pytest.mark.parametrize("case", REFUSED)
def test_refused_urls_on_an_active_image(legacy, source, case):
    image_id = active_image(legacy, source)
    before = show(legacy, image_id)["locations"]
    url = _refused_urls(legacy, source)[case]
    response = patch(legacy, image_id, add_op(url), ADMIN)
    assert response.status_code == 400, response.text
    assert show(legacy, image_id)["locations"] == before


@pytest.mark.parametrize("case", ["etc-passwd", "traversal", "swift", "http-404",
                                  "metadata-service"])
def test_refused_urls_leave_a_queued_image_queued(legacy, source, case):
    image_id = create(legacy)
    response = patch(legacy, image_id, add_op(_refused_urls(legacy, source)[case]))
    assert response.status_code == 400, response.text
    image = show(legacy, image_id)
    assert (image["status"], image["size"], image["locations"]) == ("queued", None, [])


def test_symlink_out_of_the_datadir_is_refused(legacy):
    datadir = legacy.state_path / "images"
    link = datadir / "link-to-passwd"
    if not link.exists():
        os.symlink("/etc/passwd", link)
    response = patch(legacy, create(legacy), add_op(f"file://{link}"))
    assert response.status_code == 400, response.text


def test_another_images_data_is_refused(legacy, source):
    victim = create(legacy, OTHER_MEMBER)
    upload(legacy, victim, b"secret data of project 2", OTHER_MEMBER)
    victim_url = show(legacy, victim, OTHER_MEMBER)["locations"][0]["url"]
    image_id = create(legacy)
    response = patch(legacy, image_id, add_op(victim_url))
    assert response.status_code == 400, response.text
    assert show(legacy, image_id)["status"] == "queued"
    # Not by a symlink to it either.
    link = legacy.state_path / "images" / "alias-of-victim"
    if not link.exists():
        os.symlink(victim_url[len("file://"):], link)
    assert patch(legacy, image_id, add_op(f"file://{link}")).status_code == 400


def test_orphan_file_inside_the_datadir_is_accepted(legacy):
    orphan = legacy.state_path / "images" / "operator-placed.raw"
    orphan.write_bytes(DATA)
    response = patch(legacy, create(legacy), add_op(f"file://{orphan}"))
    assert response.status_code == 200, response.text
    assert response.json()["size"] == len(DATA)


def test_duplicates_are_refused(legacy, source):
    image_id = active_image(legacy, source)
    response = patch(legacy, image_id, add_op(f"{source}/img"))
    assert response.status_code == 400
    assert message(response).startswith(f"The location {source}/img already exists")
    twice = patch(legacy, create(legacy), [{"op": "replace", "path": "/locations",
                                            "value": [loc(f"{source}/img")] * 2}])
    assert twice.status_code == 400


def test_validation_data_must_match_the_image(legacy, source):
    image_id = active_image(legacy, source)  # uploaded: checksum and os_hash are known
    wrong = {"checksum": "0" * 32, "os_hash_algo": "sha512", "os_hash_value": SHA512}
    response = patch(legacy, image_id, add_op(f"{source}/img2", validation_data=wrong))
    assert response.status_code == 409 and "checksum" in message(response)
    algo = {"os_hash_algo": "md5", "os_hash_value": MD5}  # not the image's algorithm
    assert patch(legacy, image_id, add_op(f"{source}/img2",
                                          validation_data=algo)).status_code == 409
    ok = patch(legacy, image_id, add_op(f"{source}/img2", validation_data=VALID))
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("value", [{"url": "http://x"}, {"metadata": {}}, "a string",
                                   {"url": "x" * 256, "metadata": {}}],
                         ids=["no-metadata", "no-url", "not-an-object", "url-too-long"])
def test_schema_of_location_values(legacy, value):
    response = patch(legacy, create(legacy), [{"op": "add", "path": "/locations/-",
                                               "value": value}])
    assert response.status_code == 400, response.text


def test_location_quota(legacy, source):
    image_id = create(legacy)
    value = [loc(f"{source}/img"), loc(f"{source}/img2"), loc(f"{source}/img3")]
    assert patch(legacy, image_id, [{"op": "replace", "path": "/locations",
                                     "value": value}]).status_code == 200
    more = [loc(f"{source}/img?n={n}") for n in range(8)]
    response = patch(legacy, image_id, [{"op": "add", "path": "/locations/-", "value": v}
                                        for v in more])
    assert response.status_code == 413, response.text


# -- who may do what --------------------------------------------------------------------

def test_cross_project(legacy, source):
    private = create(legacy)
    assert patch(legacy, private, add_op(f"{source}/img"), OTHER_MEMBER).status_code == 404
    public = create(legacy, ADMIN, visibility="public")
    response = patch(legacy, public, add_op(f"{source}/img"), OTHER_MEMBER)
    assert response.status_code == 403, response.text
    assert show(legacy, public, ADMIN)["status"] == "queued"
    upload(legacy, public, headers=ADMIN)
    assert patch(legacy, public, [{"op": "remove", "path": "/locations/0"}],
                 OTHER_MEMBER).status_code == 403
    # Other projects see the public image but not its locations.
    assert show(legacy, public, OTHER_MEMBER)["locations"] == []
    assert show(legacy, public, ADMIN)["locations"] != []


def test_reader_may_not_set_locations(legacy, source):
    image_id = create(legacy)
    response = patch(legacy, image_id, add_op(f"{source}/img"), helpers.READER)
    assert response.status_code == 403


def test_locations_hidden_and_refused_by_default(modern, source):
    image_id = create(modern)
    assert "locations" not in show(modern, image_id)
    for op, text in (("add", "add"), ("replace", "update"), ("remove", "remove")):
        response = patch(modern, image_id, operation(op, source, []), ADMIN)
        assert response.status_code == 403, response.text
        assert message(response).startswith(
            f"It's not allowed to {text} locations if locations are invisible.")
    assert show(modern, image_id)["status"] == "queued"


def test_default_filtering_refuses_loopback(server, source):
    image_id = create(server)
    response = requests.post(f"{server.url}/v2/images/{image_id}/locations",
                             json={"url": f"{source}/img"}, headers={**MEMBER, **JSON})
    assert response.status_code == 400, response.text
    assert "does not pass filtering" in message(response)


# -- the locations API (v2.17) ----------------------------------------------------------

def post_location(server, image_id, body, headers=MEMBER) -> requests.Response:
    return requests.post(f"{server.url}/v2/images/{image_id}/locations", json=body,
                         headers={**headers, **JSON})


def get_locations(server, image_id, headers=ADMIN) -> requests.Response:
    return requests.get(f"{server.url}/v2/images/{image_id}/locations",
                        headers={**headers, **JSON})


def wait_for_task(server, image_id) -> dict:
    deadline = time.monotonic() + 30
    while True:
        tasks = requests.get(f"{server.url}/v2/images/{image_id}/tasks",
                             headers=ADMIN).json()["tasks"]
        if tasks and all(task["status"] in ("success", "failure") for task in tasks):
            return tasks[0]
        assert time.monotonic() < deadline, tasks
        time.sleep(0.1)


def test_add_location_hashes_in_the_background(modern, source):
    image_id = create(modern)
    response = post_location(modern, image_id, {"url": f"{source}/img"})
    assert response.status_code == 202, response.text
    assert response.content == b""
    task = wait_for_task(modern, image_id)
    assert task["status"] == "success", task
    image = show(modern, image_id)
    assert (image["status"], image["size"], image["checksum"], image["os_hash_algo"],
            image["os_hash_value"]) == ("active", len(DATA), MD5, "sha512", SHA512)
    data = requests.get(f"{modern.url}/v2/images/{image_id}/file", headers=MEMBER)
    assert data.content == DATA
    again = post_location(modern, image_id, {"url": f"{source}/img2"})
    assert again.status_code == 409
    assert message(again).startswith(
        "It's not allowed to add locations if image status is active.")


def test_add_location_without_formats_fails_in_the_background(modern, source):
    """As Glance 33 the POST is accepted (202) and its task fails; unlike Glance,
    nothing of the location is recorded."""
    response = requests.post(f"{modern.url}/v2/images", headers=MEMBER, json={"name": "b"})
    image_id = response.json()["id"]
    assert post_location(modern, image_id, {"url": f"{source}/img"}).status_code == 202
    task = wait_for_task(modern, image_id)
    assert task["status"] == "failure"
    assert task["message"] == ("Properties disk_format, container_format must be set "
                               "prior to saving data.")
    image = show(modern, image_id)
    assert (image["status"], image["size"]) == ("queued", None)
    assert get_locations(modern, image_id).json() == []


def test_add_location_with_matching_validation_data(modern, source):
    image_id = create(modern)
    body = {"url": f"{source}/img", "validation_data": VALID}
    assert post_location(modern, image_id, body).status_code == 202
    assert wait_for_task(modern, image_id)["status"] == "success"
    assert show(modern, image_id)["status"] == "active"


def test_add_location_validated_with_another_algorithm(modern, source):
    """The v2.17 API takes the client's algorithm (tempest uses sha256) and keeps it."""
    image_id = create(modern)
    sha256 = hashlib.sha256(DATA).hexdigest()
    body = {"url": f"{source}/img", "validation_data": {
        "os_hash_algo": "sha256", "os_hash_value": sha256}}
    assert post_location(modern, image_id, body).status_code == 202
    assert wait_for_task(modern, image_id)["status"] == "success"
    image = show(modern, image_id)
    assert (image["status"], image["os_hash_algo"], image["os_hash_value"],
            image["checksum"]) == ("active", "sha256", sha256, MD5)


def test_add_location_with_wrong_validation_data_stays_queued(modern, source):
    image_id = create(modern)
    body = {"url": f"{source}/img", "validation_data": {
        "os_hash_algo": "sha512", "os_hash_value": hashlib.sha512(b"x").hexdigest()}}
    assert post_location(modern, image_id, body).status_code == 202
    assert wait_for_task(modern, image_id)["status"] == "failure"
    image = show(modern, image_id)
    assert (image["status"], image["checksum"]) == ("queued", None)


def test_add_location_to_missing_data_stays_queued(modern, source):
    image_id = create(modern)
    assert post_location(modern, image_id, {"url": f"{source}/missing"}).status_code == 202
    assert wait_for_task(modern, image_id)["status"] == "failure"
    assert show(modern, image_id)["status"] == "queued"
    assert get_locations(modern, image_id).json() == []


@pytest.mark.parametrize(("body", "status"), [
    ({}, 400), ({"url": 5}, 400), ({"url": "http://x", "bogus": 1}, 400),
    ({"url": "file:///etc/passwd"}, 403), ({"url": "swift://a/b/c"}, 403),
], ids=["empty", "url-not-string", "extra-key", "file-by-normal-user",
        "swift-by-normal-user"])
def test_add_location_refusals(modern, body, status):
    image_id = create(modern)
    response = post_location(modern, image_id, body)
    assert response.status_code == status, response.text
    assert show(modern, image_id)["status"] == "queued"


def test_add_location_by_the_service_role(modern, source):
    image_id = create(modern)
    passwd = post_location(modern, image_id, {"url": "file:///etc/passwd"}, SERVICE)
    assert passwd.status_code == 400, passwd.text
    response = post_location(modern, image_id, {"url": f"{source}/img"}, SERVICE)
    assert response.status_code == 202, response.text
    assert wait_for_task(modern, image_id)["status"] == "success"


def test_add_location_cross_project_and_statuses(modern, source):
    private = create(modern)
    assert post_location(modern, private, {"url": f"{source}/img"},
                         OTHER_MEMBER).status_code == 404
    public = create(modern, ADMIN, visibility="public")
    assert post_location(modern, public, {"url": f"{source}/img"},
                         OTHER_MEMBER).status_code == 403
    staged = uploading_image(modern)
    response = post_location(modern, staged, {"url": f"{source}/img"})
    assert response.status_code == 409
    assert "uploading" in message(response)


def test_get_locations(modern, source):
    image_id = create(modern)
    upload(modern, image_id)
    expected = [{"url": f"file://{modern.state_path}/images/{image_id}", "metadata": {}}]
    assert get_locations(modern, image_id, ADMIN).json() == expected
    service = get_locations(modern, image_id, SERVICE)
    assert service.status_code == 200 and service.json() == expected
    member = get_locations(modern, image_id, MEMBER)
    assert member.status_code == 403 and "fetch_image_location" in message(member)
    assert get_locations(modern, image_id, OTHER_MEMBER).status_code == 404
    gone = requests.delete(f"{modern.url}/v2/images/{image_id}/locations", headers=ADMIN)
    assert gone.status_code == 405 and "POST" in gone.headers["Allow"]


# -- multi-store, and do_secure_hash off ------------------------------------------------

@pytest.fixture(scope="module")
def multi(start_server):
    return start_server({
        "DEFAULT": {"enabled_backends": "fs:file, web:http",
                    "show_multiple_locations": "True", "do_secure_hash": "False"},
        "glance_store": {"default_backend": "fs"},
        "import_filtering_opts": LOOPBACK,
    }, name="locations-multi")


def test_multi_store_locations_name_their_store(multi, source):
    image_id = create(multi)
    upload(multi, image_id)
    response = patch(multi, image_id, add_op(f"{source}/img", metadata={"k": "v"}))
    assert response.status_code == 200, response.text
    image = response.json()
    assert [item["metadata"] for item in image["locations"]] == [
        {"store": "fs"}, {"k": "v", "store": "web"}]
    assert set(image["stores"].split(",")) == {"fs", "web"}
    orphan = multi.state_path / "images" / "placed-by-operator"
    orphan.write_bytes(DATA)
    placed = patch(multi, create(multi), add_op(f"file://{orphan}"))
    assert placed.status_code == 200, placed.text
    assert placed.json()["locations"][0]["metadata"] == {"store": "fs"}
    assert patch(multi, create(multi), add_op("file:///etc/passwd")).status_code == 400


def test_without_secure_hash_the_claimed_hashes_are_kept(multi, source):
    image_id = create(multi)
    body = {"url": f"{source}/img", "validation_data": VALID}
    assert post_location(multi, image_id, body).status_code == 202
    assert wait_for_task(multi, image_id)["status"] == "success"
    image = show(multi, image_id)
    assert (image["status"], image["checksum"], image["os_hash_value"]) == (
        "active", MD5, SHA512)
    bare = create(multi)
    assert post_location(multi, bare, {"url": f"{source}/img"}).status_code == 202
    assert wait_for_task(multi, bare)["status"] == "success"
    image = show(multi, bare)
    assert (image["status"], image["size"], image["checksum"]) == ("active", len(DATA), None)
    assert image["locations"] == [{"url": f"{source}/img", "metadata": {"store": "web"}}]


# -- the python clients -----------------------------------------------------------------

def test_glanceclient_legacy_and_new_location_calls(legacy, modern, source):
    from glanceclient import Client

    client = Client("2", endpoint=legacy.url, token="x")
    image = client.images.create(name="gc", disk_format="raw", container_format="bare")
    image = client.images.add_location(image.id, f"{source}/img", {"a": "1"})
    assert image.status == "active" and image.size == len(DATA)
    image = client.images.add_location(image.id, f"{source}/img2", {})
    image = client.images.update_location(image.id, f"{source}/img", {"a": "2"})
    assert image.locations[0]["metadata"] == {"a": "2"}
    client.images.delete_locations(image.id, {f"{source}/img"})
    assert [item["url"] for item in client.images.get(image.id).locations] == [
        f"{source}/img2"]

    new = Client("2", endpoint=modern.url, token="x")
    queued = new.images.create(name="gc-new", disk_format="raw", container_format="bare")
    new.images.add_image_location(queued.id, f"{source}/img")
    assert wait_for_task(modern, queued.id)["status"] == "success"
    assert new.images.get(queued.id).checksum == MD5
    assert [item["url"] for item in new.images.get_image_locations(queued.id)] == [
        f"{source}/img"]


def test_openstacksdk_add_image_location(modern, source):
    import openstack

    conn = openstack.connect(auth_type="none", auth={"endpoint": modern.url},
                             image_endpoint_override=modern.url)
    image = conn.image.create_image(name="sdk-loc", disk_format="raw",
                                    container_format="bare")
    conn.image.add_image_location(image, f"{source}/img")
    assert wait_for_task(modern, image.id)["status"] == "success"
    assert conn.image.get_image(image).checksum == MD5
    assert [item["url"] for item in conn.image.image_locations(image)] == [f"{source}/img"]


def test_ranges_of_http_store_data_are_400_as_in_glance(legacy, source):
    """The http store cannot read from an offset: a range request is refused with 400
    (never a 500 or a broken 206); the whole image still downloads."""
    image_id = create(legacy)
    response = patch(legacy, image_id, add_op(f"{source}/img"))
    assert response.status_code == 200, response.text
    file_url = f"{legacy.url}/v2/images/{image_id}/file"
    response = requests.get(file_url, headers={**MEMBER, "Range": "bytes=2-5"})
    assert response.status_code == 400
    assert "download the whole image" in response.text
    response = requests.get(file_url, headers={**MEMBER, "Range": "bytes=0-1,4-5"})
    assert response.status_code == 400
    response = requests.get(file_url, headers={**MEMBER, "Range": f"bytes={len(DATA)}-"})
    assert response.status_code == 416
    response = requests.get(file_url, headers=MEMBER)
    assert response.status_code == 200 and response.content == DATA

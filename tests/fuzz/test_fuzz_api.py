"""Fuzz tier (hypothesis): malformed and random-but-valid requests to every endpoint of
the in-process API. No response may be >= 500 or carry a traceback, and the database
must stay consistent (every listed image shows, with its tags and properties).

``GLANCE_FUZZ_EXAMPLES`` sets the examples per test (default 150)."""

import json
import os
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import helpers

EXAMPLES = int(os.environ.get("GLANCE_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck))

PATHS = [
    "/", "/versions", "/v2", "/v2/schemas/{name}", "/v2/images", "/v2/images/{id}",
    "/v2/images/{id}/tags/{text}", "/v2/images/{id}/file",
    "/v2/images/{id}/actions/deactivate", "/v2/images/{id}/actions/reactivate",
    "/v2/images/{id}/members", "/v2/images/{id}/members/{text}",
    "/v2/images/{id}/locations", "/v2/images/{id}/stage", "/v2/images/{id}/import",
    "/v2/images/{id}/tasks", "/v2/tasks", "/v2/tasks/{text}", "/v2/info/import",
    "/v2/info/stores", "/v2/info/stores/detail", "/v2/info/usage",
    "/v2/metadefs/namespaces", "/v2/metadefs/namespaces/{text}",
    "/v2/metadefs/namespaces/{text}/objects", "/v2/metadefs/resource_types",
]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
CONTENT_TYPES = ["application/json", "application/octet-stream", "text/plain",
                 "application/openstack-images-v2.1-json-patch", "", "multipart/x; b=\x7f"]
IDENTITIES = [helpers.ADMIN, helpers.MEMBER, helpers.READER, helpers.OTHER_MEMBER, {}]

# JSON values shaped like our documents, with hostile leaves.
leaves = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
          | st.text(max_size=40) | st.sampled_from(
              ["raw", "qcow2", "bare", "public", "../../etc/passwd", "\x00", "\ud7ff",
               "glance-direct", "web-download", "file:///etc/passwd",
               "http://u:p@127.0.0.1:1/x", "9" * 400]))
KEYS = st.sampled_from(["name", "disk_format", "container_format", "visibility", "id",
                        "tags", "min_ram", "min_disk", "protected", "os_hidden", "owner",
                        "member", "status", "method", "uri", "stores", "op", "path",
                        "value", "type", "input", "namespace", "locations", "url",
                        "metadata", "all_stores"]) | st.text(max_size=12)
documents = st.recursive(leaves, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(KEYS, inner, max_size=5), max_leaves=12)
patch_ops = st.lists(st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "replace", "remove", "test", "move", "x"]),
     "path": st.sampled_from(["/name", "/tags", "/tags/-", "/locations/-", "/k",
                              "/status", "/min_ram", "/", "", "/a/b", "~1"]),
     "value": documents}), max_size=3)
bodies = (documents.map(lambda d: json.dumps(d).encode())
          | patch_ops.map(lambda d: json.dumps(d).encode())
          | st.binary(max_size=300)
          | st.sampled_from([b"[" * 5000 + b"]" * 5000, b'{"a":' * 40 + b"1" + b"}" * 40,
                             b'{"name": "\\ud800"}', b"\xff\xfe", b""]))
texts = st.text(min_size=1, max_size=30).map(
    lambda t: "".join(c if c not in "/?#" else "_" for c in t)) | st.sampled_from(
    ["%FF%FE", "%00", "..", "a" * 300, "OS::Compute::Hypervisor", "image"])
header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126),
                        max_size=60) | st.sampled_from(
    ["bytes=0-" + "9" * 5000, "bytes=-0", "bytes=0-1,2-3", "bytes */40", "req-" + "a" * 500])
extra_headers = st.dictionaries(
    st.sampled_from(["Range", "Content-Range", "X-Openstack-Request-ID", "Accept",
                     "X-Image-Meta-Store", "If-Range", "If-None-Match",
                     "X-Roles", "X-Project-Id", "OpenStack-API-Version"]),
    header_values, max_size=3)


@pytest.fixture(scope="module")
def image_ids(app) -> list[str]:
    """An active, a queued and a deactivated image of the member's project."""
    ids = []
    for status in ("active", "queued", "deactivated"):
        image_id = app.post_json("/v2/images", {"name": f"fz-{status}", "disk_format": "raw",
                                                "container_format": "bare",
                                                "tags": ["t"], "k": "v"},
                                 headers=helpers.MEMBER).json["id"]
        if status != "queued":
            app.put(f"/v2/images/{image_id}/file", b"x" * 64,
                    headers={**helpers.MEMBER, "Content-Type": "application/octet-stream"})
        if status == "deactivated":
            app.post(f"/v2/images/{image_id}/actions/deactivate", headers=helpers.MEMBER)
        ids.append(image_id)
    return ids


def _check(response) -> None:
    assert response.status_int < 500, (response.status, response.body[:300])
    assert b"Traceback" not in response.body and b'File "/' not in response.body


def _consistent(app) -> None:
    listing = app.get("/v2/images?limit=1000", headers=helpers.ADMIN).json["images"]
    for image in listing:
        shown = app.get(f"/v2/images/{image['id']}", headers=helpers.ADMIN).json
        assert shown["id"] == image["id"] and isinstance(shown["tags"], list)
        assert shown["status"] != "saving"


@FUZZ
@given(method=st.sampled_from(METHODS), template=st.sampled_from(PATHS),
       which=st.integers(0, 3), text=texts, query=st.text(max_size=40),
       body=bodies, content_type=st.sampled_from(CONTENT_TYPES),
       identity=st.sampled_from(IDENTITIES), headers=extra_headers)
def test_any_request(app, image_ids, method, template, which, text, query, body,
                     content_type, identity, headers):
    text = quote(text, safe="%:~")
    image_id = image_ids[which] if which < 3 else text
    path = template.replace("{id}", image_id).replace("{text}", text).replace(
        "{name}", text)
    if query:
        path += "?" + quote(query, safe="%=&:,")
    all_headers = {**identity, **headers}
    if content_type:
        all_headers["Content-Type"] = content_type
    response = app.request(path, method=method, body=body if method not in
                           ("GET", "HEAD", "DELETE") else b"", headers=all_headers,
                           expect_errors=True)
    _check(response)


@FUZZ
@given(document=documents)
def test_image_create_and_patch(app, image_ids, document):
    response = app.post("/v2/images", json.dumps(document).encode(),
                        headers={**helpers.MEMBER, "Content-Type": "application/json"},
                        expect_errors=True)
    _check(response)
    target = response.json["id"] if response.status_int == 201 else image_ids[1]
    response = app.patch(f"/v2/images/{target}",
                         json.dumps([{"op": "add", "path": "/k", "value": document}]),
                         headers={**helpers.MEMBER, "Content-Type":
                                  "application/openstack-images-v2.1-json-patch"},
                         expect_errors=True)
    _check(response)


@FUZZ
@given(query=st.dictionaries(st.sampled_from(
    ["limit", "marker", "sort", "sort_key", "sort_dir", "name", "status", "visibility",
     "tag", "member_status", "size_min", "size_max", "created_at", "updated_at",
     "os_hidden", "protected", "disk_format", "k"]), texts | st.sampled_from(
    ["in:a,b", "gt:2020-01-01T00:00:00Z", "name:asc", "-1", "0", "1001", "all"]),
    max_size=4))
def test_image_list_queries(app, query):
    response = app.get("/v2/images?" + urlencode(query), headers=helpers.MEMBER,
                       expect_errors=True)
    _check(response)


def test_database_consistent_after_fuzzing(app, image_ids):
    _consistent(app)

"""The permission matrix (rbac_matrix.yaml): every API call x persona -> status.

A policy or visibility regression shows up as one failing (call, persona) row.
"""

import json
import uuid
from pathlib import Path

import pytest
import requests
import yaml

from tests import helpers

MATRIX = yaml.safe_load((Path(__file__).parent / "rbac_matrix.yaml").read_text())
ROLES: list[str] = MATRIX["roles"]

OWNER, OTHER = helpers.PROJECT_1, helpers.PROJECT_2
PENDING, ACCEPTED, ADMIN_PROJECT = "pending0project", "accepted0project", "admin0project"
IDENTITIES = {
    "admin": helpers.identity("admin,member,reader", ADMIN_PROJECT, "admin-user"),
    "owner_member": helpers.identity("member,reader", OWNER, "owner-member"),
    "owner_reader": helpers.identity("reader", OWNER, "owner-reader"),
    "other_member": helpers.identity("member,reader", OTHER, "other-member"),
    "pending_member": helpers.identity("member,reader", PENDING, "pending-member"),
    "accepted_member": helpers.identity("member,reader", ACCEPTED, "accepted-member"),
}
PATCH_TYPE = "application/openstack-images-v2.1-json-patch"
CASES = [pytest.param(call, role, expected, id=f"{call['name']}-{role}")
         for call in MATRIX["calls"]
         for role, expected in zip(ROLES, call["expect"], strict=True)]


def _route_exists(app, path: str) -> bool:
    """Whether another dev's route is there yet (an unknown path answers 404, a known one 405)."""
    image = app.post_json("/v2/images", {}, headers=IDENTITIES["owner_member"]).json
    response = app.request(path.format(image_id=image["id"]), method="PATCH",
                           expect_errors=True, headers=IDENTITIES["owner_member"])
    return response.status_int == 405


def _subject(app, call: dict) -> dict[str, str]:
    owner = IDENTITIES["owner_member"]
    image = app.post_json("/v2/images", {"name": "subject", "disk_format": "raw",
                                         "container_format": "bare",
                                         "tags": ["t1"] if call.get("tag") else []},
                          headers=owner).json
    members = f"/v2/images/{image['id']}/members"
    for project in (PENDING, ACCEPTED):
        app.post_json(members, {"member": project}, headers=owner)
    app.put_json(f"{members}/{ACCEPTED}", {"status": "accepted"},
                 headers=IDENTITIES["accepted_member"])
    if call.get("setup") in ("active", "deactivated"):
        app.put(f"/v2/images/{image['id']}/file", b"0123456789",
                headers={**owner, "Content-Type": "application/octet-stream"})
    if call.get("setup") == "deactivated":
        app.post(f"/v2/images/{image['id']}/actions/deactivate", headers=owner)
    return {"image_id": image["id"], "pending": PENDING, "accepted": ACCEPTED,
            "new_uuid": str(uuid.uuid4())}


def _fill(value, names: dict[str, str]):
    return json.loads(json.dumps(value).replace("{new_uuid}", names["new_uuid"]))


@pytest.fixture(scope="module")
def keystone_glance(start_server):
    """glance on flavor = keystone (no Keystone needed: no token is refused first)."""
    return start_server({"paste_deploy": {"flavor": "keystone"},
                         "keystone_authtoken": {
                             "www_authenticate_uri": "http://127.0.0.1:9/identity",
                             "auth_url": "http://127.0.0.1:9/identity"}},
                        name="rbac-keystone")


@pytest.mark.parametrize(("call", "role", "expected"), CASES)
def test_matrix(app, request, call: dict, role: str, expected: int):
    if call.get("needs") and not _route_exists(app, call["needs"]):
        pytest.skip(f"{call['needs']} is not built yet")
    if role == "no_token":
        server = request.getfixturevalue("keystone_glance")
        path = call["path"].format(image_id=uuid.uuid4(), pending=PENDING,
                                   accepted=ACCEPTED, new_uuid=uuid.uuid4())
        response = requests.request(call["method"], server.url + path, timeout=30)
        assert response.status_code == expected
        return
    names = _subject(app, call)
    path = call["path"].format(**names)
    headers = dict(IDENTITIES[role])
    body = b""
    if "patch" in call:
        headers["Content-Type"] = PATCH_TYPE
        body = json.dumps(call["patch"]).encode()
    elif "body" in call:
        headers["Content-Type"] = "application/json"
        body = json.dumps(_fill(call["body"], names)).encode()
    elif "data" in call:
        headers["Content-Type"] = "application/octet-stream"
        body = call["data"].encode()
    response = app.request(path, method=call["method"], headers=headers, body=body,
                           expect_errors=True)
    assert response.status_int == expected, response.text

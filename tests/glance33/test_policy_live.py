"""One policy file, two services: Glance 33 and glance answer every call alike.

The same matrix of calls x callers runs over HTTP against a live Glance 33 (uwsgi,
its own ``context`` filter reading the identity headers) and against our
glance-api, each with no policy file, with the policy file of OVERRIDE, which
moves the two base rules (``context_is_admin`` to a ``superuser`` role,
``service_api`` to an ``image_service`` role), and with GLANCE_STYLE, whose check
strings read image attributes from the target. Every (call, caller) must get the
same status code from both; the list call also reports whether the caller sees
another project's private image (what ``context_is_admin`` decides in the
database query).
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import yaml

from tests.glance33.server import Glance33, identity

OVERRIDE = {"context_is_admin": "role:superuser", "service_api": "role:image_service"}
# A policy file written for Glance that reads image attributes from the target, and
# names rules Glance registers but does not check (get_tasks) or checks elsewhere
# than one may think (staging is modify_image, not upload_image).
GLANCE_STYLE = {
    "add_image": "rule:context_is_admin or (role:member and project_id:%(owner)s "
                 "and 'private':%(visibility)s)",
    "delete_image": "rule:context_is_admin or (role:member and "
                    "project_id:%(project_id)s and 'queued':%(status)s)",
    "download_image": "rule:context_is_admin or (role:member and 'raw':%(disk_format)s "
                      "and project_id:%(project_id)s)",
    "get_members": "rule:context_is_admin or (role:reader and project_id:%(project_id)s)",
    # Images named "hidden" for their owners only: hidden from members in lists too.
    "get_image": "rule:context_is_admin or (role:reader and (project_id:%(project_id)s "
                 "or (not 'hidden':%(name)s and (project_id:%(member_id)s or "
                 "'community':%(visibility)s or 'public':%(visibility)s or "
                 "'shared':%(visibility)s))))",
    "modify_member": "rule:context_is_admin or (role:member and project_id:%(member_id)s "
                     "and 'shared':%(visibility)s)",
    "tasks_api_access": "role:member",
    "get_tasks": "!",
    "upload_image": "rule:context_is_admin",
}
POLICIES = {"default": None, "override": OVERRIDE, "glance_style": GLANCE_STYLE}

OWNER, OTHER = "a0000000000000000000000000000000", "b0000000000000000000000000000000"
MEMBER_PROJECT = "c0000000000000000000000000000000"
CALLERS = {
    "admin": ("admin,member,reader", "d0000000000000000000000000000000"),
    "superuser": ("superuser,member,reader", "e0000000000000000000000000000000"),
    "owner_member": ("member,reader", OWNER),
    "owner_reader": ("reader", OWNER),
    "owner_service": ("reader,service", OWNER),
    "owner_image_service": ("reader,image_service", OWNER),
    "other_member": ("member,reader", OTHER),
    "image_member": ("member,reader", MEMBER_PROJECT),
}
# Sets the subjects up under either policy file: admin by both rules, and a member.
SETUP = identity("admin,superuser,member,reader", OWNER, "setup")
PATCH_TYPE = "application/openstack-images-v2.1-json-patch"
DATA = b"0123456789"


@dataclass(frozen=True)
class Call:
    """One API call on a fresh subject image (``setup``: queued, private, active or
    deactivated), with a JSON body, a JSON patch or raw data."""

    name: str
    method: str
    path: str
    setup: str = "queued"
    body: object = None
    patch: list | None = None
    data: bytes | None = None
    seen: bool = False  # also report whether the subject is in the listing
    headers: dict = field(default_factory=dict)


def _namespace_body() -> dict:
    return {"namespace": f"ns-{uuid.uuid4().hex[:12]}", "visibility": "public"}


CALLS = [
    Call("list_images", "GET", "/v2/images", setup="private", seen=True),
    Call("list_accepted_shared_images", "GET", "/v2/images", setup="accepted", seen=True),
    Call("show_private_image", "GET", "/v2/images/{id}", setup="private"),
    Call("show_shared_image", "GET", "/v2/images/{id}"),
    Call("create_image", "POST", "/v2/images", body={"name": "new"}),
    Call("create_public_image", "POST", "/v2/images", body={"visibility": "public"}),
    Call("create_community_image", "POST", "/v2/images", body={"visibility": "community"}),
    Call("create_image_for_another_project", "POST", "/v2/images", body={"owner": OTHER}),
    Call("create_image_with_id", "POST", "/v2/images", body={"id": "{new_id}"}),
    Call("rename_image", "PATCH", "/v2/images/{id}",
         patch=[{"op": "replace", "path": "/name", "value": "renamed"}]),
    Call("empty_patch", "PATCH", "/v2/images/{id}", patch=[]),
    Call("publicize_image", "PATCH", "/v2/images/{id}",
         patch=[{"op": "replace", "path": "/visibility", "value": "public"}]),
    Call("change_owner", "PATCH", "/v2/images/{id}",
         patch=[{"op": "replace", "path": "/owner", "value": OTHER}]),
    Call("remove_location", "PATCH", "/v2/images/{id}",
         patch=[{"op": "remove", "path": "/locations/0"}]),
    Call("delete_image", "DELETE", "/v2/images/{id}"),
    Call("delete_deactivated_image", "DELETE", "/v2/images/{id}", setup="deactivated"),
    Call("add_tag", "PUT", "/v2/images/{id}/tags/t1"),
    Call("upload", "PUT", "/v2/images/{id}/file", data=DATA),
    Call("stage", "PUT", "/v2/images/{id}/stage", data=DATA),
    Call("download", "GET", "/v2/images/{id}/file", setup="active"),
    Call("download_deactivated", "GET", "/v2/images/{id}/file", setup="deactivated"),
    Call("deactivate", "POST", "/v2/images/{id}/actions/deactivate", setup="active"),
    Call("reactivate", "POST", "/v2/images/{id}/actions/reactivate", setup="deactivated"),
    Call("list_members", "GET", "/v2/images/{id}/members"),
    Call("add_member", "POST", "/v2/images/{id}/members", body={"member": "m9"}),
    Call("show_member", "GET", f"/v2/images/{{id}}/members/{MEMBER_PROJECT}"),
    Call("accept_membership", "PUT", f"/v2/images/{{id}}/members/{MEMBER_PROJECT}",
         body={"status": "accepted"}),
    Call("remove_member", "DELETE", f"/v2/images/{{id}}/members/{MEMBER_PROJECT}"),
    Call("fetch_locations", "GET", "/v2/images/{id}/locations", setup="active"),
    Call("add_location", "POST", "/v2/images/{id}/locations",
         body={"url": "http://127.0.0.1:9/image.raw"}),
    Call("stores_detail", "GET", "/v2/info/stores/detail"),
    Call("list_tasks", "GET", "/v2/tasks"),
    Call("list_cache", "GET", "/v2/cache"),
    Call("create_namespace", "POST", "/v2/metadefs/namespaces", body=_namespace_body),
    Call("list_namespaces", "GET", "/v2/metadefs/namespaces"),
]


def _subject(url: str, setup: str) -> str:
    """A fresh image of OWNER, shared with MEMBER_PROJECT (pending, or accepted and
    then named "hidden"), or private; with data when active or deactivated."""
    visibility = "private" if setup == "private" else "shared"
    created = requests.post(f"{url}/v2/images", headers=SETUP, timeout=30, json={
        "name": "subject", "disk_format": "raw", "container_format": "bare",
        "visibility": visibility})
    created.raise_for_status()
    image_id = created.json()["id"]
    if visibility == "shared":
        requests.post(f"{url}/v2/images/{image_id}/members", headers=SETUP, timeout=30,
                      json={"member": MEMBER_PROJECT}).raise_for_status()
    if setup == "accepted":
        member = identity("member,reader", MEMBER_PROJECT, "member-setup")
        requests.put(f"{url}/v2/images/{image_id}/members/{MEMBER_PROJECT}", timeout=30,
                     headers=member, json={"status": "accepted"}).raise_for_status()
        requests.patch(f"{url}/v2/images/{image_id}", timeout=30,
                       headers={**SETUP, "Content-Type": PATCH_TYPE},
                       data=json.dumps([{"op": "replace", "path": "/name",
                                         "value": "hidden"}])).raise_for_status()
    if setup in ("active", "deactivated"):
        requests.put(f"{url}/v2/images/{image_id}/file", data=DATA, timeout=30,
                     headers={**SETUP, "Content-Type": "application/octet-stream"}
                     ).raise_for_status()
    if setup == "deactivated":
        requests.post(f"{url}/v2/images/{image_id}/actions/deactivate", headers=SETUP,
                      timeout=30).raise_for_status()
    return image_id


def _outcome(url: str, call: Call, caller: str) -> str:
    image_id = _subject(url, call.setup)
    roles, project = CALLERS[caller]
    headers = {**identity(roles, project, caller), **call.headers}
    kwargs: dict = {}
    if call.patch is not None:
        headers["Content-Type"] = PATCH_TYPE
        kwargs["data"] = json.dumps(call.patch)
    elif call.body is not None:
        body = call.body() if isinstance(call.body, Callable) else call.body
        kwargs["json"] = json.loads(json.dumps(body).replace("{new_id}", str(uuid.uuid4())))
    elif call.data is not None:
        headers["Content-Type"] = "application/octet-stream"
        kwargs["data"] = call.data
    response = requests.request(call.method, url + call.path.format(id=image_id),
                                headers=headers, timeout=60, **kwargs)
    outcome = str(response.status_code)
    if call.seen and response.ok:
        seen = image_id in {image["id"] for image in response.json()["images"]}
        outcome += " seen" if seen else " unseen"
    return outcome


def run_matrix(url: str) -> dict[tuple[str, str], str]:
    """(call, caller) -> status code (plus seen/unseen for the listing)."""
    return {(call.name, caller): _outcome(url, call, caller)
            for call, caller in itertools.product(CALLS, CALLERS)}


def _policy_file(directory: Path, rules: dict | None) -> Path | None:
    if rules is None:
        return None
    path = directory / "policy.yaml"
    path.write_text(yaml.safe_dump(rules))
    return path


@pytest.fixture(scope="module", params=list(POLICIES))
def outcomes(request, tmp_path_factory, start_server):
    """Both services' matrix under one policy file: (name, glance33, ours)."""
    name = request.param
    directory = tmp_path_factory.mktemp(f"policy-{name}")
    policy_file = _policy_file(directory, POLICIES[name])
    policy = {"oslo_policy": {"policy_file": str(policy_file)}} if policy_file else {}
    glance33 = Glance33(directory / "glance33", sections=policy).start()
    try:
        theirs = run_matrix(glance33.url)
    finally:
        glance33.stop()
    ours_server = start_server({
        "DEFAULT": {"enabled_backends": "fs:file, web:http",
                    "show_multiple_locations": "True", "workers": "1"},
        "glance_store": {"default_backend": "fs"}, **policy}, name=f"policy-{name}")
    try:
        ours = run_matrix(ours_server.url)
    finally:
        ours_server.stop()
    return name, theirs, ours


def test_same_status_for_every_call_and_caller(outcomes):
    name, theirs, ours = outcomes
    differences = {f"{call} as {caller}": f"Glance 33 {theirs[call, caller]}, "
                                          f"glance {ours[call, caller]}"
                   for call, caller in theirs if theirs[call, caller] != ours[call, caller]}
    assert differences == {}, f"policy {name}"


# Cells that show the matrix really exercises each policy file (Glance's answers).
EXERCISED = {
    "default": {("list_images", "admin"): "200 seen", ("publicize_image", "admin"): "200",
                ("list_accepted_shared_images", "image_member"): "200 seen",
                ("fetch_locations", "owner_service"): "200",
                ("stores_detail", "owner_member"): "403"},
    "override": {("list_images", "superuser"): "200 seen",
                 ("list_images", "admin"): "200 unseen",
                 ("publicize_image", "superuser"): "200",
                 ("publicize_image", "admin"): "404",  # no longer sees the image
                 ("create_namespace", "superuser"): "201",
                 ("create_namespace", "admin"): "403",
                 ("fetch_locations", "owner_image_service"): "200",
                 ("fetch_locations", "owner_service"): "403",
                 ("stores_detail", "owner_image_service"): "200"},
    "glance_style": {("create_image", "owner_member"): "201",  # no visibility: private
                     ("create_community_image", "owner_member"): "403",
                     ("delete_image", "owner_member"): "204",
                     ("delete_deactivated_image", "owner_member"): "403",
                     ("list_tasks", "owner_member"): "200",  # get_tasks is not checked
                     ("upload", "owner_member"): "403",
                     ("stage", "owner_member"): "204",  # staging is modify_image
                     ("list_members", "image_member"): "403",
                     ("list_accepted_shared_images", "image_member"): "200 unseen"},
}


def test_the_matrix_exercises_the_policy_file(outcomes):
    name, theirs, _ours = outcomes
    assert {cell: theirs[cell] for cell in EXERCISED[name]} == EXERCISED[name]

"""Policy files change behaviour; scope and new-defaults switches are honoured."""

import json
import uuid

import pytest
import yaml
from oslo_config import cfg

from glance import policy
from tests import helpers

CONF = cfg.CONF
OWNER, READER = helpers.MEMBER, helpers.READER
SYSTEM_ADMIN = {"X-Roles": "admin,member,reader", "X-User-Id": "sys",
                "OpenStack-System-Scope": "all"}
PATCH = "application/openstack-images-v2.1-json-patch"


@pytest.fixture
def policy_rules(app, tmp_path):
    """Write a policy file with the given rules and make glance use it."""
    changed: list[tuple[str, str]] = []

    def _use(rules: dict[str, str] | None = None, **options) -> None:
        path = tmp_path / f"policy-{uuid.uuid4().hex}.yaml"
        path.write_text(yaml.safe_dump(rules or {}))
        CONF.set_override("policy_file", str(path), "oslo_policy")
        changed.append(("policy_file", "oslo_policy"))
        for name, value in options.items():
            CONF.set_override(name, value, "oslo_policy")
            changed.append((name, "oslo_policy"))
        policy.reset()

    yield _use
    for name, group in changed:
        CONF.clear_override(name, group)
    policy.reset()


def _route_exists(app, path: str) -> bool:
    response = app.request(path, method="PATCH", headers=OWNER, expect_errors=True)
    return response.status_int == 405


def test_deny_delete_deactivated_image(app, policy_rules):
    image_id = app.post_json("/v2/images", {"disk_format": "raw", "container_format": "bare"},
                             headers=OWNER).json["id"]
    if not _route_exists(app, f"/v2/images/{image_id}/actions/deactivate"):
        pytest.skip("POST /v2/images/{id}/actions/deactivate is not built yet")
    policy_rules({"delete_deactivated_image": "role:admin"})
    app.put(f"/v2/images/{image_id}/file", b"data",
            headers={**OWNER, "Content-Type": "application/octet-stream"})
    app.post(f"/v2/images/{image_id}/actions/deactivate", headers=OWNER)
    denied = app.delete(f"/v2/images/{image_id}", headers=OWNER, expect_errors=True)
    assert denied.status_int == 403
    assert "delete_deactivated_image" in denied.text
    assert app.delete(f"/v2/images/{image_id}", headers=helpers.ADMIN).status_int == 204


def test_default_allows_deleting_a_deactivated_image(app):
    image_id = app.post_json("/v2/images", {"disk_format": "raw", "container_format": "bare"},
                             headers=OWNER).json["id"]
    if not _route_exists(app, f"/v2/images/{image_id}/actions/deactivate"):
        pytest.skip("POST /v2/images/{id}/actions/deactivate is not built yet")
    app.put(f"/v2/images/{image_id}/file", b"data",
            headers={**OWNER, "Content-Type": "application/octet-stream"})
    app.post(f"/v2/images/{image_id}/actions/deactivate", headers=OWNER)
    assert app.delete(f"/v2/images/{image_id}", headers=OWNER).status_int == 204


def test_restrict_caller_chosen_ids(app, policy_rules):
    policy_rules({"add_image_with_id": "role:admin"})
    denied = app.post_json("/v2/images", {"id": str(uuid.uuid4())}, headers=OWNER,
                           expect_errors=True)
    assert denied.status_int == 403
    assert "add_image_with_id" in denied.text
    assert app.post_json("/v2/images", {}, headers=OWNER).status_int == 201
    assert app.post_json("/v2/images", {"id": str(uuid.uuid4())},
                         headers=helpers.ADMIN).status_int == 201


def test_widen_publicize_image(app, policy_rules):
    assert app.post_json("/v2/images", {"visibility": "public"}, headers=OWNER,
                         expect_errors=True).status_int == 403
    policy_rules({"publicize_image": "role:member"})
    created = app.post_json("/v2/images", {"visibility": "public"}, headers=OWNER)
    assert created.json["visibility"] == "public"


def test_narrowing_get_image_hides_instead_of_forbidding(app, policy_rules):
    image_id = app.post_json("/v2/images", {}, headers=OWNER).json["id"]
    policy_rules({"get_image": "rule:context_is_admin"})
    assert app.get(f"/v2/images/{image_id}", headers=OWNER,
                   expect_errors=True).status_int == 404
    assert app.get(f"/v2/images/{image_id}", headers=helpers.ADMIN).status_int == 200


def test_narrowing_get_image_filters_the_listing(app, policy_rules):
    """As in Glance: each image of the database's page is checked with get_image,
    and a thinned full page still links to the next one."""
    first = app.post_json("/v2/images", {"name": "narrow-a"}, headers=OWNER).json["id"]
    second = app.post_json("/v2/images", {"name": "narrow-b", "visibility": "private"},
                           headers=OWNER).json["id"]
    listed = app.get("/v2/images?limit=2&sort=created_at:desc", headers=OWNER).json
    assert [image["id"] for image in listed["images"]] == [second, first]
    policy_rules({"get_image": "rule:context_is_admin or 'private':%(visibility)s"})
    listed = app.get("/v2/images?limit=2&sort=created_at:desc", headers=OWNER).json
    assert [image["id"] for image in listed["images"]] == [second]
    assert listed["next"].endswith(f"marker={second}")
    assert app.get("/v2/images", headers=helpers.ADMIN).json["images"]


def test_deny_listing(app, policy_rules):
    policy_rules({"get_images": "!"})
    response = app.get("/v2/images", headers=OWNER, expect_errors=True)
    assert response.status_int == 403
    assert "get_images" in response.text


def test_deny_sharing(app, policy_rules):
    image_id = app.post_json("/v2/images", {}, headers=OWNER).json["id"]
    policy_rules({"add_member": "role:admin"})
    response = app.post_json(f"/v2/images/{image_id}/members", {"member": "p9"},
                             headers=OWNER, expect_errors=True)
    assert response.status_int == 403
    assert "add_member" in response.text


def test_communitize_can_be_restricted(app, policy_rules):
    image_id = app.post_json("/v2/images", {}, headers=OWNER).json["id"]
    policy_rules({"communitize_image": "role:admin"})
    response = app.patch(f"/v2/images/{image_id}",
                         '[{"op": "replace", "path": "/visibility", "value": "community"}]',
                         headers={**OWNER, "Content-Type": PATCH}, expect_errors=True)
    assert response.status_int == 403
    assert "communitize_image" in response.text


def test_context_is_admin_rule_decides_who_sees_everything(app, policy_rules):
    image_id = app.post_json("/v2/images", {"visibility": "private"},
                             headers=OWNER).json["id"]
    auditor = helpers.identity("auditor,reader", project="audit0project", user="aud")
    assert app.get(f"/v2/images/{image_id}", headers=auditor,
                   expect_errors=True).status_int == 404
    policy_rules({"context_is_admin": "role:admin or role:auditor",
                  "get_image": "rule:context_is_admin"})
    assert app.get(f"/v2/images/{image_id}", headers=auditor).status_int == 200


def test_old_defaults_when_new_defaults_are_off(app, policy_rules):
    assert app.post_json("/v2/images", {}, headers=READER,
                         expect_errors=True).status_int == 403
    policy_rules(enforce_new_defaults=False)
    # The deprecated default ("rule:default", empty = allow) is OR-ed in again.
    assert app.post_json("/v2/images", {}, headers=READER).status_int == 201


def test_system_scoped_tokens_are_refused(app):
    """Listing and creating are 403; one image answers 404, as to any outsider."""
    image_id = app.post_json("/v2/images", {}, headers=OWNER).json["id"]
    for method, path, status in (("GET", "/v2/images", 403), ("POST", "/v2/images", 403),
                                 ("GET", f"/v2/images/{image_id}", 404),
                                 ("GET", f"/v2/images/{image_id}/members", 404),
                                 ("DELETE", f"/v2/images/{image_id}", 404)):
        body = {"json": {}} if method == "POST" else {}
        response = app.request(path, method=method, headers=SYSTEM_ADMIN,
                               expect_errors=True, **body)
        assert response.status_int == status, (method, path, response.text)
    assert app.get(f"/v2/images/{image_id}", headers=OWNER).status_int == 200


def test_system_scope_allowed_when_enforce_scope_is_off(app, policy_rules):
    policy_rules(enforce_scope=False)
    assert app.get("/v2/images", headers=SYSTEM_ADMIN).status_int == 200
    assert app.post_json("/v2/images", {}, headers=SYSTEM_ADMIN).status_int == 201


def test_image_ids_are_never_reused(app):
    """OSSN-0075: a deleted image's id is refused, in any project."""
    image_id = str(uuid.uuid4())
    app.post_json("/v2/images", {"id": image_id}, headers=OWNER)
    app.delete(f"/v2/images/{image_id}", headers=OWNER)
    for who in (OWNER, helpers.OTHER_MEMBER, helpers.ADMIN):
        response = app.post_json("/v2/images", {"id": image_id}, headers=who,
                                 expect_errors=True)
        assert response.status_int == 409
        assert f"Image ID {image_id} already exists!" in response.text


@pytest.mark.parametrize("options", [{"enforce_new_defaults": False},
                                     {"rules": {"modify_image": "", "delete_image": "",
                                                "add_member": "", "delete_member": "",
                                                "modify_member": ""}}])
def test_permissive_policy_still_protects_other_projects_images(app, policy_rules, options):
    """Like Glance's database layer: only the owner (or an admin) changes an image."""
    image_id = app.post_json("/v2/images", {}, headers=OWNER).json["id"]
    public_id = app.post_json("/v2/images", {"visibility": "public"},
                              headers=helpers.ADMIN).json["id"]
    members = f"/v2/images/{image_id}/members"
    app.post_json(members, {"member": helpers.PROJECT_2}, headers=OWNER)
    policy_rules(options.get("rules"), **{k: v for k, v in options.items() if k != "rules"})
    other = helpers.OTHER_MEMBER
    patch = '[{"op": "replace", "path": "/name", "value": "stolen"}]'
    for target in (image_id, public_id):
        path = f"/v2/images/{target}"
        assert app.patch(path, patch, headers={**other, "Content-Type": PATCH},
                         expect_errors=True).status_int == 403
        assert app.put(f"{path}/tags/x", headers=other, expect_errors=True).status_int == 403
        assert app.delete(path, headers=other, expect_errors=True).status_int == 403
    assert app.post_json(members, {"member": "p7"}, headers=other,
                         expect_errors=True).status_int == 403
    assert app.delete(f"{members}/{helpers.PROJECT_2}", headers=other,
                      expect_errors=True).status_int == 403
    # The owner may not accept on the member's behalf.
    assert app.put_json(f"{members}/{helpers.PROJECT_2}", {"status": "accepted"},
                        headers=OWNER, expect_errors=True).status_int == 403
    assert app.get(f"/v2/images/{image_id}", headers=OWNER).json["name"] is None


def test_listings_are_filtered_by_the_show_rules(app, policy_rules):
    """As in Glance: get_member filters a member list, get_metadef_namespace a
    namespace list, get_metadef_object an object list."""
    image_id = app.post_json("/v2/images", {}, headers=OWNER).json["id"]
    members = f"/v2/images/{image_id}/members"
    app.post_json(members, {"member": helpers.PROJECT_2}, headers=OWNER)
    name = f"ns-{uuid.uuid4().hex[:10]}"
    namespace = f"/v2/metadefs/namespaces/{name}"
    app.post_json("/v2/metadefs/namespaces", {"namespace": name, "visibility": "public",
                                              "owner": "another0project"},
                  headers=helpers.ADMIN)
    app.post_json(f"{namespace}/objects", {"name": "o1"}, headers=helpers.ADMIN)

    def names() -> list[str]:
        listed = app.get("/v2/metadefs/namespaces?limit=1000", headers=OWNER).json
        return [ns["namespace"] for ns in listed["namespaces"]]

    assert len(app.get(members, headers=OWNER).json["members"]) == 1
    assert name in names()
    assert len(app.get(f"{namespace}/objects", headers=OWNER).json["objects"]) == 1
    policy_rules({"get_member": "rule:context_is_admin",
                  "get_metadef_namespace": "rule:context_is_admin or "
                                           "project_id:%(project_id)s",
                  "get_metadef_object": "rule:context_is_admin"})
    assert app.get(members, headers=OWNER).json["members"] == []
    assert name not in names()
    assert app.get(namespace, headers=OWNER, expect_errors=True).status_int == 404
    policy_rules({"get_metadef_object": "rule:context_is_admin"})
    assert app.get(f"{namespace}/objects", headers=OWNER).json["objects"] == []
    app.delete(namespace, headers=helpers.ADMIN)


PERMISSIVE = {rule: "" for rule in (
    "get_image", "modify_image", "delete_image", "upload_image", "publicize_image",
    "deactivate", "reactivate", "download_image")}


def test_only_the_owner_changes_an_image_whatever_the_policy(app, policy_rules):
    """A policy file that allows everything still leaves another project's image alone:
    every write answers 403 and changes nothing (glance.services.access.check_mutable)."""
    policy_rules(PERMISSIVE)
    octet = {"Content-Type": "application/octet-stream"}
    body = {"disk_format": "raw", "container_format": "bare", "visibility": "public",
            "name": "theirs", "tags": ["t"]}
    queued = app.post_json("/v2/images", body, headers=OWNER).json["id"]
    active = app.post_json("/v2/images", body, headers=OWNER).json["id"]
    app.put(f"/v2/images/{active}/file", b"data", headers={**OWNER, **octet})
    staged = app.post_json("/v2/images", body, headers=OWNER).json["id"]
    app.put(f"/v2/images/{staged}/stage", b"data", headers={**OWNER, **octet})
    other = helpers.OTHER_MEMBER
    attempts = [
        ("PATCH", f"/v2/images/{queued}",
         [{"op": "replace", "path": "/name", "value": "mine"}], {"Content-Type": PATCH}),
        ("DELETE", f"/v2/images/{queued}", None, {}),
        ("PUT", f"/v2/images/{queued}/tags/new", None, {}),
        ("DELETE", f"/v2/images/{queued}/tags/t", None, {}),
        ("PUT", f"/v2/images/{queued}/file", b"mine", octet),
        ("PUT", f"/v2/images/{queued}/stage", b"mine", octet),
        ("POST", f"/v2/images/{active}/actions/deactivate", None, {}),
        ("POST", f"/v2/images/{staged}/import", {"method": {"name": "glance-direct"}},
         {"Content-Type": "application/json"}),
    ]
    before = {i: app.get(f"/v2/images/{i}", headers=OWNER).json
              for i in (queued, active, staged)}
    for method, path, payload, headers in attempts:
        data = json.dumps(payload).encode() if isinstance(payload, (list, dict)) \
            else payload or b""
        response = app.request(path, method=method, headers={**other, **headers},
                               body=data, expect_errors=True)
        assert response.status_int == 403, (method, path, response.text)
        assert "You do not own this image." in response.text, (method, path)
    for image_id, was in before.items():
        now = app.get(f"/v2/images/{image_id}", headers=OWNER).json
        assert {k: now[k] for k in ("name", "status", "tags", "size")} == \
            {k: was[k] for k in ("name", "status", "tags", "size")}

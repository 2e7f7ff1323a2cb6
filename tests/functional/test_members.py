"""Image members: sharing rules, member status, quota, and bad input (never a 500)."""


import pytest

from tests import helpers

OWNER = helpers.MEMBER
P2 = helpers.PROJECT_2
P2_MEMBER = helpers.OTHER_MEMBER
P3_MEMBER = helpers.identity("member,reader", project="third0project", user="u3")


def _image(app, **body) -> str:
    return app.post_json("/v2/images", {"name": "shared-one", **body}, headers=OWNER).json["id"]


def _ids(app, headers, query: str = "") -> list[str]:
    return [i["id"] for i in app.get(f"/v2/images{query}", headers=headers).json["images"]]


def test_share_accept_and_unshare(app):
    image_id = _image(app)
    members = f"/v2/images/{image_id}/members"
    created = app.post_json(members, {"member": P2}, headers=OWNER).json
    assert created["member_id"] == P2 and created["image_id"] == image_id
    assert created["status"] == "pending"
    assert created["schema"] == "/v2/schemas/member"
    assert created["created_at"].endswith("Z") and created["updated_at"].endswith("Z")
    # Pending: visible by id, absent from the default list, present on request.
    assert app.get(f"/v2/images/{image_id}", headers=P2_MEMBER).status_int == 200
    assert image_id not in _ids(app, P2_MEMBER)
    assert image_id not in _ids(app, P2_MEMBER, "?visibility=shared")
    assert image_id in _ids(app, P2_MEMBER, "?member_status=pending")
    assert image_id in _ids(app, P2_MEMBER, "?member_status=all")
    # Only the member changes its status.
    owner_try = app.put_json(f"{members}/{P2}", {"status": "accepted"}, headers=OWNER,
                             expect_errors=True)
    assert owner_try.status_int == 403
    assert "modify_member" in owner_try.text
    accepted = app.put_json(f"{members}/{P2}", {"status": "accepted"}, headers=P2_MEMBER)
    assert accepted.json["status"] == "accepted"
    assert image_id in _ids(app, P2_MEMBER)
    assert image_id in _ids(app, P2_MEMBER, "?visibility=shared")
    # Rejected: hidden from the list, still reachable by id.
    app.put_json(f"{members}/{P2}", {"status": "rejected"}, headers=P2_MEMBER)
    assert image_id not in _ids(app, P2_MEMBER)
    assert image_id in _ids(app, P2_MEMBER, "?member_status=rejected")
    assert app.get(f"/v2/images/{image_id}", headers=P2_MEMBER).status_int == 200
    # The owner removes it; the image disappears for the member.
    assert app.delete(f"{members}/{P2}", headers=OWNER).status_int == 204
    assert app.get(f"/v2/images/{image_id}", headers=P2_MEMBER,
                   expect_errors=True).status_int == 404
    again = app.delete(f"{members}/{P2}", headers=OWNER, expect_errors=True)
    assert again.status_int == 404
    # And it can be shared again after removal (the row is really gone).
    assert app.post_json(members, {"member": P2}, headers=OWNER).status_int == 200


def test_duplicate_member_is_409(app):
    members = f"/v2/images/{_image(app)}/members"
    app.post_json(members, {"member": P2}, headers=OWNER)
    response = app.post_json(members, {"member": P2}, headers=OWNER, expect_errors=True)
    assert response.status_int == 409
    assert f"Member {P2} is duplicated" in response.text


@pytest.mark.parametrize("visibility", ["private", "community", "public"])
def test_only_shared_images_have_members(app, visibility):
    headers = helpers.ADMIN if visibility == "public" else OWNER
    image_id = app.post_json("/v2/images", {"visibility": visibility},
                             headers=headers).json["id"]
    response = app.post_json(f"/v2/images/{image_id}/members", {"member": P2},
                             headers=headers, expect_errors=True)
    assert response.status_int == 403
    assert f"Not allowed to create members for image {image_id}" in response.text


def test_member_quota_is_413(app, override):
    override("image_member_quota", 2)
    members = f"/v2/images/{_image(app)}/members"
    for project in ("q1", "q2"):
        app.post_json(members, {"member": project}, headers=OWNER)
    response = app.post_json(members, {"member": "q3"}, headers=OWNER, expect_errors=True)
    assert response.status_int == 413
    assert "Maximum: 2" in response.text


def test_member_sees_only_its_own_membership(app):
    image_id = _image(app)
    members = f"/v2/images/{image_id}/members"
    for project in (P2, "third0project"):
        app.post_json(members, {"member": project}, headers=OWNER)
    seen_by_owner = app.get(members, headers=OWNER).json
    assert {m["member_id"] for m in seen_by_owner["members"]} == {P2, "third0project"}
    assert seen_by_owner["schema"] == "/v2/schemas/members"
    seen_by_p2 = app.get(members, headers=P2_MEMBER).json["members"]
    assert [m["member_id"] for m in seen_by_p2] == [P2]
    other = app.get(f"{members}/third0project", headers=P2_MEMBER, expect_errors=True)
    assert other.status_int == 404
    # A member may not add, remove or change others.
    assert app.post_json(members, {"member": "x"}, headers=P2_MEMBER,
                         expect_errors=True).status_int == 403
    assert app.delete(f"{members}/third0project", headers=P2_MEMBER,
                      expect_errors=True).status_int == 403
    assert app.put_json(f"{members}/third0project", {"status": "accepted"},
                        headers=P2_MEMBER, expect_errors=True).status_int == 403


def test_strangers_get_404_everywhere(app):
    image_id = _image(app)
    members = f"/v2/images/{image_id}/members"
    app.post_json(members, {"member": P2}, headers=OWNER)
    for method, path, body in (("GET", members, None), ("POST", members, {"member": "z"}),
                               ("GET", f"{members}/{P2}", None),
                               ("PUT", f"{members}/{P2}", {"status": "accepted"}),
                               ("DELETE", f"{members}/{P2}", None)):
        response = app.request(path, method=method, headers=P3_MEMBER,
                               json=body, expect_errors=True) if body else \
            app.request(path, method=method, headers=P3_MEMBER, expect_errors=True)
        assert response.status_int == 404, (method, path)


def test_member_can_see_but_not_change_the_image(app):
    image_id = _image(app)
    app.post_json(f"/v2/images/{image_id}/members", {"member": P2}, headers=OWNER)
    patch = app.patch(f"/v2/images/{image_id}", '[{"op":"replace","path":"/name","value":"x"}]',
                      headers={**P2_MEMBER, "Content-Type":
                               "application/openstack-images-v2.1-json-patch"},
                      expect_errors=True)
    assert patch.status_int == 403
    assert app.delete(f"/v2/images/{image_id}", headers=P2_MEMBER,
                      expect_errors=True).status_int == 403


def test_deleting_the_image_ends_the_sharing(app):
    image_id = _image(app)
    app.post_json(f"/v2/images/{image_id}/members", {"member": P2}, headers=OWNER)
    app.delete(f"/v2/images/{image_id}", headers=OWNER)
    assert app.get(f"/v2/images/{image_id}/members", headers=OWNER,
                   expect_errors=True).status_int == 404
    assert image_id not in _ids(app, P2_MEMBER, "?member_status=all")


def test_member_schemas(app):
    member = app.get("/v2/schemas/member").json
    assert member["name"] == "member"
    assert set(member["properties"]) == {"member_id", "image_id", "status", "created_at",
                                         "updated_at", "schema"}
    assert member["properties"]["status"]["enum"] == ["pending", "accepted", "rejected"]
    members = app.get("/v2/schemas/members").json
    assert members["name"] == "members"
    assert members["properties"]["members"]["items"]["name"] == "member"


BAD_CREATE = [
    ("", "Body expected"), ("[]", "JSON object"), ("{", "Malformed JSON"),
    ('{"nope": 1}', "Member to be added not specified"), ('{"member": ""}', "empty"),
    ('{"member": 5}', "string"), ('{"member": null}', "string"),
    ('{"member": ["a"]}', "string"), ('{"member": "' + "x" * 256 + '"}', "too long"),
    ('"member"', "JSON object"),
    ('{"member": "\\ud800"}', ""), ('{"member": "a\\u0000b"}', ""),
    ('{"member": "\\ud83d\\ude00"}', "4-byte"), ('{"member": "tab\\there"}', "control"),
]


@pytest.mark.parametrize(("body", "message"), BAD_CREATE)
def test_bad_create_bodies_are_400(app, body, message):
    response = app.post(f"/v2/images/{_image(app)}/members", body,
                        headers={**OWNER, "Content-Type": "application/json"},
                        expect_errors=True)
    assert response.status_int == 400, response.text
    assert message in response.text


BAD_UPDATE = [
    ("", "Body expected"), ("{}", "Status not specified"), ('{"status": "bogus"}',
                                                           'Status must be "pending"'),
    ('{"status": 1}', "Status must be"), ('{"status": null}', "Status must be"),
    ("[1]", "JSON object"), ("nope", "Malformed JSON"),
]


@pytest.mark.parametrize(("body", "message"), BAD_UPDATE)
def test_bad_update_bodies_are_400(app, body, message):
    image_id = _image(app)
    app.post_json(f"/v2/images/{image_id}/members", {"member": P2}, headers=OWNER)
    response = app.put(f"/v2/images/{image_id}/members/{P2}", body,
                       headers={**P2_MEMBER, "Content-Type": "application/json"},
                       expect_errors=True)
    assert response.status_int == 400, response.text
    assert message in response.text


@pytest.mark.parametrize("path", [
    "/v2/images/not-a-uuid/members", "/v2/images/not-a-uuid/members/p2",
    "/v2/images/6f1c2b3a-9d8e-4f70-8a1b-2c3d4e5f6a7b/members",
    "/v2/images/6f1c2b3a-9d8e-4f70-8a1b-2c3d4e5f6a7b/members/p2",
    "/v2/images/%E2%98%83/members",
])
def test_unknown_images_are_404(app, path):
    for method in ("GET", "DELETE") if path.count("/") == 5 else ("GET", "POST"):
        body = {"json": {"member": "p2"}} if method == "POST" else {}
        response = app.request(path, method=method, headers=OWNER, expect_errors=True,
                               **body)
        assert response.status_int == 404


def test_unknown_member_is_404(app):
    image_id = _image(app)
    for method in ("GET", "DELETE"):
        response = app.request(f"/v2/images/{image_id}/members/{'y' * 300}",
                               method=method, headers=OWNER, expect_errors=True)
        assert response.status_int == 404
    response = app.put_json(f"/v2/images/{image_id}/members/nobody",
                            {"status": "accepted"}, headers=helpers.ADMIN,
                            expect_errors=True)
    assert response.status_int == 404


def test_methods_not_allowed(app):
    image_id = _image(app)
    response = app.request(f"/v2/images/{image_id}/members", method="PUT", headers=OWNER,
                           expect_errors=True)
    assert response.status_int == 405
    assert response.headers["Allow"] == "GET, POST"
    response = app.request(f"/v2/images/{image_id}/members/p2", method="POST",
                           headers=OWNER, expect_errors=True)
    assert response.status_int == 405
    assert response.headers["Allow"] == "GET, PUT, DELETE"


def test_delete_with_body_is_400(app):
    image_id = _image(app)
    app.post_json(f"/v2/images/{image_id}/members", {"member": P2}, headers=OWNER)
    response = app.request(f"/v2/images/{image_id}/members/{P2}", method="DELETE",
                           body=b"{}", headers=OWNER, expect_errors=True)
    assert response.status_int == 400


def test_non_ascii_member_ids_work(app):
    image_id = _image(app)
    created = app.post_json(f"/v2/images/{image_id}/members", {"member": "projét-7"},
                            headers=OWNER)
    assert created.json["member_id"] == "projét-7"
    shown = app.get(f"/v2/images/{image_id}/members/proj%C3%A9t-7", headers=OWNER)
    assert shown.json["status"] == "pending"
    changed = app.put_json(f"/v2/images/{image_id}/members/proj%C3%A9t-7",
                           {"status": "accepted"}, headers=helpers.ADMIN)
    assert changed.json["status"] == "accepted"
    assert app.delete(f"/v2/images/{image_id}/members/proj%C3%A9t-7",
                      headers=OWNER).status_int == 204


def test_member_scope_is_refused_while_the_feature_is_off(app):
    """hierarchical_image_access off (the default): a scope is 400, the schema has
    none, and member entries look as they always did."""
    image_id = _image(app)
    members = f"/v2/images/{image_id}/members"
    for scope in ("subtree", "domain", "project", "bogus"):
        response = app.post_json(members, {"member": P2, "scope": scope}, headers=OWNER,
                                 expect_errors=True)
        assert response.status_int == 400 and "not enabled" in response.text, scope
    created = app.post_json(members, {"member": P2}, headers=OWNER).json
    assert "scope" not in created
    assert "scope" not in app.get("/v2/schemas/member", headers=OWNER).json["properties"]

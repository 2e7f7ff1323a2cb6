"""Visibility: public / community / shared / private, list filters, 404 never 403."""

import uuid

import pytest

from tests import helpers

OWNER, OTHER, ADMIN = helpers.MEMBER, helpers.OTHER_MEMBER, helpers.ADMIN
PATCH = "application/openstack-images-v2.1-json-patch"


def _create(app, visibility: str | None = None, headers=OWNER) -> str:
    body = {"name": f"vis-{visibility}"}
    if visibility:
        body["visibility"] = visibility
    return app.post_json("/v2/images", body, headers=headers).json["id"]


def _ids(app, headers, query: str = "") -> set[str]:
    return {i["id"] for i in app.get(f"/v2/images{query}&limit=1000" if query else
                                     "/v2/images?limit=1000", headers=headers).json["images"]}


@pytest.fixture(scope="module")
def images(app) -> dict[str, str]:
    return {"public": _create(app, "public", ADMIN), "community": _create(app, "community"),
            "shared": _create(app, "shared"), "private": _create(app, "private"),
            "default": _create(app)}


def test_default_visibility_is_shared(app, images):
    assert app.get(f"/v2/images/{images['default']}", headers=OWNER).json[
        "visibility"] == "shared"


def test_owner_sees_all_its_images(app, images):
    assert set(images.values()) <= _ids(app, OWNER)


def test_other_project_default_list(app, images):
    seen = _ids(app, OTHER)
    assert images["public"] in seen
    for hidden in ("community", "shared", "private", "default"):
        assert images[hidden] not in seen


@pytest.mark.parametrize(("kind", "status"), [("public", 200), ("community", 200),
                                              ("shared", 404), ("private", 404)])
def test_other_project_show(app, images, kind, status):
    response = app.get(f"/v2/images/{images[kind]}", headers=OTHER, expect_errors=True)
    assert response.status_int == status


def test_community_images_are_listed_on_request(app, images):
    assert images["community"] in _ids(app, OTHER, "?visibility=community")
    assert images["public"] not in _ids(app, OTHER, "?visibility=community")


def test_visibility_filters(app, images):
    assert _ids(app, OWNER, "?visibility=private") >= {images["private"]}
    assert images["shared"] not in _ids(app, OWNER, "?visibility=private")
    assert {images["shared"], images["default"]} <= _ids(app, OWNER, "?visibility=shared")
    assert images["public"] in _ids(app, OWNER, "?visibility=public")
    assert images["private"] not in _ids(app, OTHER, "?visibility=all")
    assert images["community"] in _ids(app, OTHER, "?visibility=all")


def test_admin_sees_other_projects_private_images(app, images):
    assert app.get(f"/v2/images/{images['private']}", headers=ADMIN).status_int == 200
    assert images["private"] in _ids(app, ADMIN)


def test_bad_visibility_filter_is_400(app):
    response = app.get("/v2/images?visibility=bogus", headers=OWNER, expect_errors=True)
    assert response.status_int == 400
    assert "Invalid visibility value: bogus" in response.text


def test_bad_member_status_filter_is_400(app):
    response = app.get("/v2/images?member_status=maybe", headers=OWNER, expect_errors=True)
    assert response.status_int == 400


def test_bad_visibility_value_is_400(app):
    response = app.post_json("/v2/images", {"visibility": "everyone"}, headers=OWNER,
                             expect_errors=True)
    assert response.status_int == 400


def test_private_image_with_members_hides_them(app):
    image_id = _create(app)
    app.post_json(f"/v2/images/{image_id}/members", {"member": helpers.PROJECT_2},
                  headers=OWNER)
    app.put_json(f"/v2/images/{image_id}/members/{helpers.PROJECT_2}",
                 {"status": "accepted"}, headers=OTHER)
    assert app.get(f"/v2/images/{image_id}", headers=OTHER).status_int == 200
    app.patch(f"/v2/images/{image_id}",
              '[{"op": "replace", "path": "/visibility", "value": "private"}]',
              headers={**OWNER, "Content-Type": PATCH})
    assert app.get(f"/v2/images/{image_id}", headers=OTHER,
                   expect_errors=True).status_int == 404
    assert image_id not in _ids(app, OTHER, "?member_status=all")


INVISIBLE_CALLS = [
    ("GET", ""), ("PATCH", ""), ("DELETE", ""), ("PUT", "/tags/x"), ("DELETE", "/tags/x"),
    ("GET", "/members"), ("POST", "/members"), ("GET", "/members/p"),
    ("PUT", "/members/p"), ("DELETE", "/members/p"),
]


@pytest.mark.parametrize(("method", "suffix"), INVISIBLE_CALLS)
def test_invisible_images_answer_404_not_403(app, images, method, suffix):
    path = f"/v2/images/{images['private']}{suffix}"
    kwargs: dict = {"expect_errors": True, "headers": dict(OTHER)}
    if method == "PATCH":
        kwargs["headers"]["Content-Type"] = PATCH
        kwargs["body"] = b'[{"op": "replace", "path": "/name", "value": "x"}]'
    elif method == "POST":
        kwargs["json"] = {"member": "p"}
    elif method == "PUT" and "members" in suffix:
        kwargs["json"] = {"status": "accepted"}
    response = app.request(path, method=method, **kwargs)
    assert response.status_int == 404, response.text
    # And an unknown id gives the very same answer.
    unknown = app.request(f"/v2/images/{uuid.uuid4()}{suffix}", method=method, **kwargs)
    assert unknown.status_int == 404

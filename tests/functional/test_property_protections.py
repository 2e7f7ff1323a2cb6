"""Property protections over HTTP: who may create, read, update and delete which
properties, in the roles and the policies format ([DEFAULT] property_protection_file)."""

import json
import uuid

import pytest
import yaml
from oslo_config import cfg

from glance import policy
from tests import helpers

CONF = cfg.CONF
MEMBER, ADMIN = helpers.MEMBER, helpers.ADMIN
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
ROLES_FILE = """
[^x_admin_only$]
create = admin
read = admin
update = admin
delete = admin

[^x_member_reads$]
create = admin
read = admin,member
update = admin
delete = admin

[^x_locked$]
create = admin
read = @
update = !
delete = !

[^x_open$]
create = @
read = @
update = @
delete = @
"""


@pytest.fixture
def protections(app, tmp_path, override):
    """Use a property protection file with the given text and rule format."""
    def _use(text: str, rule_format: str = "roles") -> None:
        path = tmp_path / f"protections-{uuid.uuid4().hex}.conf"
        path.write_text(text)
        override("property_protection_file", str(path))
        override("property_protection_rule_format", rule_format)
    return _use


def _create(app, headers, expect_errors=False, **properties):
    body = {"disk_format": "raw", "container_format": "bare", **properties}
    return app.post_json("/v2/images", body, headers=headers, expect_errors=expect_errors)


def _patch(app, image_id, headers, *operations):
    return app.request(f"/v2/images/{image_id}", method="PATCH",
                       headers={**headers, **PATCH}, expect_errors=True,
                       body=json.dumps(list(operations)).encode())


def _admin_image(app) -> str:
    """An image of the member's project (ADMIN's too) with a property of each rule."""
    return _create(app, ADMIN, x_admin_only="a",
                   x_member_reads="m", x_locked="l", x_open="o").json["id"]


def test_create_needs_the_create_rule_of_every_property(app, protections):
    protections(ROLES_FILE)
    refused = _create(app, MEMBER, x_admin_only="1", expect_errors=True)
    assert refused.status_int == 403
    assert "Attribute 'x_admin_only' is reserved." in refused.text
    unmatched = _create(app, MEMBER, anything="1", expect_errors=True)
    assert unmatched.status_int == 403  # no section: nobody
    assert _create(app, MEMBER, x_open="1").status_int == 201
    assert _create(app, ADMIN, x_admin_only="1").status_int == 201
    assert _create(app, MEMBER, name="base attributes are not properties").status_int == 201


def test_reads_hide_what_the_caller_may_not_read(app, protections):
    protections(ROLES_FILE)
    image_id = _admin_image(app)
    seen = app.get(f"/v2/images/{image_id}", headers=MEMBER).json
    assert "x_admin_only" not in seen
    assert (seen["x_member_reads"], seen["x_locked"], seen["x_open"]) == ("m", "l", "o")
    listed = app.get("/v2/images", params={"id": image_id}, headers=MEMBER).json["images"]
    assert "x_admin_only" not in listed[0] and listed[0]["x_open"] == "o"
    assert app.get(f"/v2/images/{image_id}", headers=ADMIN).json["x_admin_only"] == "a"


@pytest.mark.parametrize(("operation", "status"), [
    ({"op": "replace", "path": "/x_member_reads", "value": "n"}, 403),  # update: admin
    ({"op": "replace", "path": "/x_admin_only", "value": "n"}, 409),  # unreadable
    ({"op": "remove", "path": "/x_admin_only"}, 409),  # unreadable: absent
    ({"op": "add", "path": "/x_admin_only", "value": "n"}, 403),  # create: admin
    ({"op": "remove", "path": "/x_locked"}, 403),  # delete: nobody
    ({"op": "replace", "path": "/x_locked", "value": "n"}, 403),  # update: nobody
    ({"op": "add", "path": "/x_new", "value": "n"}, 403),  # no section
])
def test_a_member_cannot_change_protected_properties(app, protections, operation, status):
    protections(ROLES_FILE)
    image_id = _admin_image(app)
    response = _patch(app, image_id, MEMBER, operation)
    assert response.status_int == status, response.text
    after = app.get(f"/v2/images/{image_id}", headers=ADMIN).json
    assert (after["x_admin_only"], after["x_member_reads"], after["x_locked"]) == \
        ("a", "m", "l")


def test_allowed_changes_keep_the_properties_the_caller_cannot_see(app, protections):
    protections(ROLES_FILE)
    image_id = _admin_image(app)
    response = _patch(app, image_id, MEMBER,
                      {"op": "replace", "path": "/x_open", "value": "o2"},
                      {"op": "replace", "path": "/name", "value": "renamed"})
    assert response.status_int == 200, response.text
    assert "x_admin_only" not in response.json
    after = app.get(f"/v2/images/{image_id}", headers=ADMIN).json
    assert (after["x_admin_only"], after["x_open"], after["name"]) == ("a", "o2", "renamed")
    assert _patch(app, image_id, ADMIN, {"op": "remove", "path": "/x_admin_only"}
                  ).status_int == 200
    assert _patch(app, image_id, ADMIN, {"op": "remove", "path": "/x_locked"}
                  ).status_int == 403  # '!' holds for administrators too


def test_policies_format_asks_the_policy_file(app, protections, override, tmp_path):
    """Each value names a policy rule; one the policy file lacks is the file's
    ``default`` rule, as with any other unknown rule (and in Glance)."""
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(yaml.safe_dump({"x_writer": "role:admin",
                                           "default": "role:admin"}))
    override("policy_file", str(policy_file), "oslo_policy")
    policy.reset()
    try:
        protections("[^x_p$]\ncreate = x_writer\nread = @\nupdate = x_undefined\n"
                    "delete = x_writer\n", "policies")
        assert _create(app, MEMBER, x_p="1", expect_errors=True).status_int == 403
        image_id = _create(app, ADMIN, x_p="1").json["id"]
        assert app.get(f"/v2/images/{image_id}", headers=MEMBER).json["x_p"] == "1"
        change = {"op": "replace", "path": "/x_p", "value": "2"}
        assert _patch(app, image_id, MEMBER, change).status_int == 403
        assert _patch(app, image_id, ADMIN, change).status_int == 200
        assert _patch(app, image_id, MEMBER, {"op": "remove", "path": "/x_p"}
                      ).status_int == 403
    finally:
        CONF.clear_override("policy_file", "oslo_policy")
        policy.reset()


def test_glance_own_properties_stay_open(app, protections):
    protections("[.*]\ncreate = !\nread = !\nupdate = !\ndelete = !\n")
    image = _create(app, MEMBER).json
    assert "os_glance_failed_import" not in image  # nothing to show, nothing refused
    assert _create(app, MEMBER, x_any="1", expect_errors=True).status_int == 403


def test_without_a_file_nothing_is_protected(app):
    assert _create(app, MEMBER, x_admin_only="1").status_int == 201

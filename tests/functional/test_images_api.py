"""Images API v2 metadata: create / show / list / PATCH / delete / tags, over the real
paste pipeline in-process (SQLite). Expected statuses and messages follow Glance's."""

import uuid

import pytest

from glance.db.sqlalchemy import engine, models
from tests import helpers

JSON = {"Accept": "application/json"}
PATCH_21 = "application/openstack-images-v2.1-json-patch"
PATCH_20 = "application/openstack-images-v2.0-json-patch"


def create(app, body=None, status=201, headers=None):
    return app.post_json("/v2/images", body if body is not None else {},
                         headers={**(headers or helpers.MEMBER), **JSON}, status=status)


def patch(app, image_id, ops, status=200, content_type=PATCH_21, headers=None):
    return app.patch_json(f"/v2/images/{image_id}", ops, status=status,
                          headers={**(headers or helpers.MEMBER), **JSON},
                          content_type=content_type)


@pytest.fixture
def image(app):
    return create(app, {"name": "img", "disk_format": "raw", "container_format": "bare",
                        "foo": "bar", "tags": ["a", "b"]}).json


# -- create ----------------------------------------------------------------------------

def test_create_returns_full_image(app):
    response = create(app, {"name": "a", "disk_format": "raw", "container_format": "bare",
                            "foo": "bar", "tags": ["t1", "t1", "t2"]})
    body = response.json
    assert response.location == f"http://localhost/v2/images/{body['id']}"
    assert body["status"] == "queued" and body["visibility"] == "shared"
    assert body["owner"] == helpers.PROJECT_1 and body["foo"] == "bar"
    assert sorted(body["tags"]) == ["t1", "t2"]
    for key in ("size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value"):
        assert body[key] is None
    assert body["protected"] is False and body["os_hidden"] is False
    assert body["min_ram"] == 0 and body["min_disk"] == 0
    assert body["self"] == f"/v2/images/{body['id']}"
    assert body["file"] == f"/v2/images/{body['id']}/file"
    assert body["schema"] == "/v2/schemas/image"
    assert body["created_at"].endswith("Z")


def test_create_empty_body_and_text_plain(app):
    assert create(app, {}).json["status"] == "queued"
    response = app.post("/v2/images", "{}", headers={**helpers.MEMBER,
                                                     "Content-Type": "text/plain"})
    assert response.status_int == 201


@pytest.mark.parametrize("disk_format", ["vhdx", "ploop", "qcow2", "iso", "raw", "vhd"])
def test_new_disk_formats_accepted(app, disk_format):
    assert create(app, {"disk_format": disk_format}).json["disk_format"] == disk_format


@pytest.mark.parametrize("body,fragment", [
    ({"disk_format": "gpt"}, "disk_format"),
    ({"container_format": "bogus"}, "container_format"),
    ({"name": "x" * 256}, "name"),
    ({"id": "not-a-uuid"}, "id"),
    ({"min_ram": -1}, "min_ram"),
    ({"protected": "yes"}, "protected"),
    ({"visibility": "everyone"}, "visibility"),
    ({"foo": 5}, "foo"),
    ({"tags": ["x" * 256]}, "tags"),
    ({"kernel_id": "nope"}, "kernel_id"),
])
def test_create_schema_errors_are_400(app, body, fragment):
    response = create(app, body, status=400)
    assert "Provided object does not match schema 'image'" in response.json["message"]
    assert fragment in response.json["message"]
    assert "<" not in response.json["message"]


@pytest.mark.parametrize("name", ["status", "size", "checksum", "created_at", "virtual_size",
                                  "os_hash_value", "self", "file", "schema"])
def test_create_read_only_attribute_403(app, name):
    response = create(app, {name: "x"}, status=403)
    assert response.json["message"] == f"Attribute '{name}' is read-only."


@pytest.mark.parametrize("name", ["os_glance_foo", "deleted", "deleted_at", "location"])
def test_create_reserved_attribute_403(app, name):
    response = create(app, {name: "x"}, status=403)
    assert response.json["message"] == f"Attribute '{name}' is reserved."


@pytest.mark.parametrize("raw", ["{", "[1, 2]", '"text"', "null", "[" * 60000])
def test_create_bad_json(app, raw):
    response = app.post("/v2/images", raw, headers={**helpers.MEMBER, **JSON,
                                                    "Content-Type": "application/json"},
                        expect_errors=True)
    assert response.status_int == 400
    assert response.json["message"]


def test_create_body_too_large_is_413(app):
    body = '{"name": "' + "x" * 70000 + '"}'
    response = app.post("/v2/images", body, headers={**helpers.MEMBER, **JSON,
                                                     "Content-Type": "application/json"},
                        status=413)
    assert "larger than" in response.json["message"]


def test_create_with_id_and_reuse_refused(app):
    image_id = str(uuid.uuid4())
    assert create(app, {"id": image_id}).json["id"] == image_id
    response = create(app, {"id": image_id}, status=409)
    assert response.json["message"] == f"Image ID {image_id} already exists!"
    app.delete(f"/v2/images/{image_id}", headers=helpers.MEMBER, status=204)
    create(app, {"id": image_id}, status=409)
    create(app, {"id": image_id}, status=409, headers=helpers.OTHER_MEMBER)


def test_create_for_other_owner_forbidden(app):
    response = create(app, {"owner": "someone-else"}, status=403)
    assert "someone-else" in response.json["message"]
    assert create(app, {"owner": "someone-else"}, headers=helpers.ADMIN).json["owner"] == \
        "someone-else"


def test_reader_cannot_create(app):
    create(app, {}, status=403, headers=helpers.READER)


def test_property_and_tag_quotas(app, override):
    override("image_property_quota", 3)
    override("image_tag_quota", 2)
    response = create(app, {"a": "1", "b": "2", "c": "3", "d": "4"}, status=413)
    assert response.json["message"] == ("The limit has been exceeded on the number of "
                                         "allowed image properties. Attempted: 4, Maximum: 3")
    response = create(app, {"tags": ["1", "2", "3"]}, status=413)
    assert "image tags. Attempted: 3, Maximum: 2" in response.json["message"]


def test_unauthenticated_noauth_request_acts_as_admin(app):
    body = app.post_json("/v2/images", {"name": "anon"},
                         headers={"X-Auth-Token": "dummy"}).json
    assert body["owner"] is None
    app.get(f"/v2/images/{body['id']}", status=200)


# -- show / errors -----------------------------------------------------------------------

def test_show(app, image):
    body = app.get(f"/v2/images/{image['id']}", headers=helpers.READER).json
    assert body == image


def test_path_that_is_not_utf8_is_400(app):
    response = app.get("/v2/images/%FF%FE", headers={**helpers.MEMBER, **JSON}, status=400)
    assert response.json["message"] == "The request path is not valid UTF-8."


@pytest.mark.parametrize("image_id", ["not-a-uuid", "%C3%A9t%C3%A9",
                                      "8a6e0804-2bd0-4672-b79d-d97027f9071a"])
def test_show_unknown_is_404(app, image_id):
    response = app.get(f"/v2/images/{image_id}", headers={**helpers.MEMBER, **JSON},
                       status=404)
    assert response.json["message"].startswith("No image found with ID")
    assert response.json["title"] == "Not Found"


def test_error_body_is_plain_text_without_json_accept(app):
    response = app.get(f"/v2/images/{uuid.uuid4()}", headers=helpers.MEMBER, status=404)
    assert response.content_type == "text/plain"
    assert "No image found with ID" in response.text and "<" not in response.text


def test_private_image_of_other_project_is_404(app, image):
    app.get(f"/v2/images/{image['id']}", headers=helpers.OTHER_MEMBER, status=404)
    patch(app, image["id"], [{"op": "replace", "path": "/name", "value": "x"}], status=404,
          headers=helpers.OTHER_MEMBER)
    app.delete(f"/v2/images/{image['id']}", headers=helpers.OTHER_MEMBER, status=404)


@pytest.mark.parametrize("method,path,allow", [
    ("put", "/v2/images", "GET, POST"),
    ("head", "/v2/images/{id}", "GET, PATCH, DELETE"),
    ("post", "/v2/images/{id}", "GET, PATCH, DELETE"),
    ("get", "/v2/images/{id}/tags/x", "PUT, DELETE"),
])
def test_wrong_method_is_405_with_allow(app, image, method, path, allow):
    response = getattr(app, method)(path.format(id=image["id"]), headers=helpers.MEMBER,
                                    status=405)
    assert response.headers["Allow"] == allow


# -- PATCH -------------------------------------------------------------------------------

def test_patch_add_replace_remove_property(app, image):
    image_id = image["id"]
    assert patch(app, image_id, [{"op": "add", "path": "/k1", "value": "v"}]).json["k1"] == "v"
    assert patch(app, image_id, [{"op": "add", "path": "/k1", "value": "w"}]).json["k1"] == "w"
    assert patch(app, image_id, [{"op": "replace", "path": "/k1", "value": "z"}]).json[
        "k1"] == "z"
    assert "k1" not in patch(app, image_id, [{"op": "remove", "path": "/k1"}]).json


def test_patch_many_ops_applied_atomically(app, image):
    ops = [{"op": "replace", "path": "/name", "value": "new"},
           {"op": "add", "path": "/k2", "value": "v"},
           {"op": "remove", "path": "/nope"}]
    patch(app, image["id"], ops, status=409)
    body = app.get(f"/v2/images/{image['id']}", headers=helpers.MEMBER).json
    assert body["name"] == "img" and "k2" not in body


@pytest.mark.parametrize("op,status,message", [
    ({"op": "replace", "path": "/nope", "value": "x"}, 409, "Property nope does not exist."),
    ({"op": "remove", "path": "/nope"}, 409, "Property nope does not exist."),
    ({"op": "add", "path": "/k2", "value": 5}, 400, "5 is not of type 'string'"),
    ({"op": "remove", "path": "/name"}, 403, "Property name may not be removed."),
    ({"op": "remove", "path": "/tags"}, 403, "Property tags may not be removed."),
    ({"op": "replace", "path": "/status", "value": "active"}, 403,
     "Attribute 'status' is read-only."),
    ({"op": "replace", "path": "/id", "value": "x"}, 403, "Attribute 'id' is read-only."),
    ({"op": "add", "path": "/os_glance_x", "value": "x"}, 403,
     "Attribute 'os_glance_x' is reserved."),
    ({"op": "replace", "path": "/kernel_id", "value": "nope"}, 400, "kernel_id"),
    ({"op": "test", "path": "/name", "value": "x"}, 400,
     "Invalid operation: `test`. It must be one of the following: add, remove, replace."),
    ({"op": "move", "path": "/name", "value": "x"}, 400, "Invalid operation: `move`"),
    ({"op": "add", "path": "/tags/-", "value": "x"}, 400,
     "Invalid JSON pointer for this resource: '/tags/-'"),
    ({"op": "add", "path": "/a/b", "value": "x"}, 400, "Invalid JSON pointer"),
    ({"op": "add", "path": "noslash", "value": "x"}, 400, "Invalid JSON pointer"),
    ({"op": "add", "path": "/~2bad", "value": "x"}, 400, "Invalid JSON pointer"),
    ({"op": "add", "path": "/name"}, 400, "needs a 'value'"),
    ({"op": "replace", "path": "/min_ram", "value": "big"}, 400, "min_ram"),
    ({"op": "replace", "path": "/visibility", "value": "public"}, 403,
     "publicize_image"),
    ({"op": "replace", "path": "/owner", "value": "other"}, 403, "owner"),
])
def test_patch_errors(app, image, op, status, message):
    response = patch(app, image["id"], [op], status=status)
    assert message in response.json["message"]


@pytest.mark.parametrize("body", [{"op": "add"}, "text", [["add"]], 5])
def test_patch_malformed_documents(app, image, body):
    ops = body if isinstance(body, list) else [body] if isinstance(body, dict) else body
    response = patch(app, image["id"], ops, status=400)
    assert response.json["message"]


def test_patch_wrong_content_type_is_415_with_accept_patch(app, image):
    response = patch(app, image["id"], [], status=415, content_type="application/json")
    assert response.headers["Accept-Patch"] == (
        "application/openstack-images-v2.0-json-patch, "
        "application/openstack-images-v2.1-json-patch")


def test_patch_v20_syntax(app, image):
    body = patch(app, image["id"], [{"add": "/k4", "value": "v"}], content_type=PATCH_20).json
    assert body["k4"] == "v"
    patch(app, image["id"], [{"add": "/k4", "remove": "/k4"}], content_type=PATCH_20,
          status=400)


def test_patch_tags_are_a_set(app, image):
    body = patch(app, image["id"], [{"op": "replace", "path": "/tags",
                                     "value": ["x", "x", "y"]}]).json
    assert sorted(body["tags"]) == ["x", "y"]
    body = patch(app, image["id"], [{"op": "add", "path": "/tags", "value": ["q"]}]).json
    assert body["tags"] == ["q"]


def test_patch_base_attributes(app, image):
    ops = [{"op": "replace", "path": "/name", "value": "renamed"},
           {"op": "replace", "path": "/min_ram", "value": 512},
           {"op": "replace", "path": "/protected", "value": True},
           {"op": "replace", "path": "/os_hidden", "value": True},
           {"op": "replace", "path": "/visibility", "value": "private"},
           {"op": "add", "path": "/os_distro", "value": "debian"},
           {"op": "replace", "path": "/name", "value": None}]
    body = patch(app, image["id"], ops).json
    assert (body["name"], body["min_ram"], body["protected"], body["os_hidden"],
            body["visibility"], body["os_distro"]) == (None, 512, True, True, "private",
                                                       "debian")
    assert body["updated_at"] >= image["updated_at"]


def test_patch_quota(app, image, override):
    override("image_property_quota", 2)
    patch(app, image["id"], [{"op": "add", "path": "/p2", "value": "v"}])
    response = patch(app, image["id"], [{"op": "add", "path": "/p3", "value": "v"}],
                     status=413)
    assert "Attempted: 3, Maximum: 2" in response.json["message"]


def test_reader_cannot_patch(app, image):
    patch(app, image["id"], [{"op": "add", "path": "/x", "value": "y"}], status=403,
          headers=helpers.READER)


# -- tags subresource --------------------------------------------------------------------

def test_tag_put_and_delete(app, image):
    url = f"/v2/images/{image['id']}/tags/new-tag"
    app.put(url, headers=helpers.MEMBER, status=204)
    app.put(url, headers=helpers.MEMBER, status=204)
    tags = app.get(f"/v2/images/{image['id']}", headers=helpers.MEMBER).json["tags"]
    assert sorted(tags) == ["a", "b", "new-tag"]
    app.delete(url, headers=helpers.MEMBER, status=204)
    app.delete(url, headers=helpers.MEMBER, status=404)


def test_tag_errors(app, image, override):
    base = f"/v2/images/{image['id']}/tags/"
    response = app.put(base + "x" * 256, headers={**helpers.MEMBER, **JSON}, status=400)
    assert "too long" in response.json["message"]
    response = app.put(base + "t", "body", headers={**helpers.MEMBER, **JSON}, status=400)
    assert response.json["message"] == "A body is not expected with this request."
    app.put(f"/v2/images/{uuid.uuid4()}/tags/t", headers=helpers.MEMBER, status=404)
    app.put(base + "t", headers=helpers.READER, status=403)
    override("image_tag_quota", 2)
    response = app.put(base + "third", headers={**helpers.MEMBER, **JSON}, status=413)
    assert "Attempted: 3, Maximum: 2" in response.json["message"]


# -- delete ------------------------------------------------------------------------------

def test_delete(app, image):
    app.delete(f"/v2/images/{image['id']}", headers=helpers.MEMBER, status=204)
    app.get(f"/v2/images/{image['id']}", headers=helpers.ADMIN, status=404)
    app.delete(f"/v2/images/{image['id']}", headers=helpers.MEMBER, status=404)


def test_protected_image_cannot_be_deleted(app):
    image = create(app, {"protected": True}).json
    response = app.delete(f"/v2/images/{image['id']}", headers={**helpers.MEMBER, **JSON},
                          status=403)
    assert response.json["message"] == \
        f"Image {image['id']} is protected and cannot be deleted."


def test_reader_cannot_delete(app, image):
    app.delete(f"/v2/images/{image['id']}", headers=helpers.READER, status=403)


# -- schemas -----------------------------------------------------------------------------

def test_image_schema_is_served(app):
    body = app.get("/v2/schemas/image").json
    assert body["name"] == "image"
    assert body["properties"]["disk_format"]["enum"] == [
        None, "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso",
        "ploop"]
    assert body["properties"]["visibility"]["enum"] == [
        "community", "public", "private", "shared"]
    assert body["additionalProperties"] == {"type": "string"}
    images = app.get("/v2/schemas/images").json
    assert images["properties"]["images"]["items"]["name"] == "image"
    app.get("/v2/schemas/bogus", status=404)


def test_disk_formats_configurable(app, override):
    override("disk_formats", ["raw", "qcow2"], group="image_format")
    assert app.get("/v2/schemas/image").json["properties"]["disk_format"]["enum"] == [
        None, "raw", "qcow2"]
    create(app, {"disk_format": "vhdx"}, status=400)


def test_non_ascii_tag_in_path_is_decoded(app, image):
    app.put(f"/v2/images/{image['id']}/tags/%C3%A9t%C3%A9", headers=helpers.MEMBER,
            status=204)
    tags = app.get(f"/v2/images/{image['id']}", headers=helpers.MEMBER).json["tags"]
    assert "été" in tags
    app.delete(f"/v2/images/{image['id']}/tags/%C3%A9t%C3%A9", headers=helpers.MEMBER,
               status=204)


def test_glance_distributed_import_properties_are_not_shown(app, image):
    """OpenStack Glance records the node an image was staged on; it never shows that,
    and a mixed cluster has it in the database."""
    with engine.writer_session() as session:
        session.add(models.ImageProperty(image_id=image["id"], name="os_glance_stage_host",
                                         value="http://node-1:9292"))
    shown = app.get(f"/v2/images/{image['id']}", headers=helpers.MEMBER).json
    assert "os_glance_stage_host" not in shown and shown["foo"] == "bar"
    patched = patch(app, image["id"], [{"op": "add", "path": "/k", "value": "v"}]).json
    assert "os_glance_stage_host" not in patched and patched["k"] == "v"

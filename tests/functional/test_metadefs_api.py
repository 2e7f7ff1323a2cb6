"""Metadefs API in-process: CRUD round-trips, policy, bad input, pagination."""

import uuid

import pytest

from tests import helpers

NS_URL = "/v2/metadefs/namespaces"
A, M, R, OTHER = helpers.ADMIN, helpers.MEMBER, helpers.READER, helpers.OTHER_MEMBER
PROP = {"title": "Disk bus", "type": "string", "enum": ["virtio", "scsi"]}


def _name(prefix: str = "Test::NS") -> str:
    return f"{prefix}::{uuid.uuid4().hex[:8]}"


@pytest.fixture
def ns(app):
    """A fresh private namespace owned by PROJECT_1 (deleted afterwards)."""
    name = _name()
    app.post_json(NS_URL, {"namespace": name, "display_name": "Test"}, headers=A)
    yield name
    app.delete(f"{NS_URL}/{name}", headers=A, expect_errors=True)


def test_resource_types_seeded(app):
    names = [rt["name"] for rt in app.get("/v2/metadefs/resource_types",
                                          headers=R).json["resource_types"]]
    for expected in ("OS::Glance::Image", "OS::Cinder::Volume", "OS::Nova::Server",
                     "OS::Nova::Flavor", "OS::Nova::Aggregate", "OS::Trove::Instance"):
        assert expected in names


def test_namespace_round_trip(app):
    name = _name()
    body = {"namespace": name, "display_name": "Round trip", "description": "d",
            "visibility": "public", "protected": True,
            "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "hw_"}],
            "properties": {"disk_bus": PROP},
            "objects": [{"name": "CPU Limits", "required": ["period"], "properties": {
                "period": {"title": "Period", "type": "integer", "minimum": 0}}}],
            "tags": [{"name": "t1"}, {"name": "t2"}]}
    created = app.post_json(NS_URL, body, headers=A, status=201)
    assert created.location.endswith(f"{NS_URL}/{name}")
    doc = created.json
    assert doc["owner"] == helpers.PROJECT_1 and doc["self"] == f"{NS_URL}/{name}"
    shown = app.get(f"{NS_URL}/{name}", headers=A).json
    assert shown["properties"] == {"disk_bus": PROP}
    assert shown["objects"][0]["name"] == "CPU Limits"
    assert shown["objects"][0]["required"] == ["period"]
    assert shown["tags"] == [{"name": "t1"}, {"name": "t2"}]
    assert shown["resource_type_associations"][0]["prefix"] == "hw_"
    assert shown["schema"] == "/v2/schemas/metadefs/namespace"
    prefixed = app.get(f"{NS_URL}/{name}?resource_type=OS::Glance::Image", headers=A).json
    assert "hw_disk_bus" in prefixed["properties"]
    assert prefixed["objects"][0]["required"] == ["hw_period"]
    # A protected namespace cannot be deleted; PUT (full replace) unprotects it.
    app.delete(f"{NS_URL}/{name}", headers=A, status=403)
    app.delete(f"{NS_URL}/{name}/properties/disk_bus", headers=A, status=403)
    new_name = name + "x"
    updated = app.put_json(f"{NS_URL}/{name}", {"namespace": new_name,
                                                "description": "e"}, headers=A).json
    assert updated["namespace"] == new_name and updated["protected"] is False
    assert updated["visibility"] == "private" and "display_name" not in updated
    app.get(f"{NS_URL}/{name}", headers=A, status=404)
    assert app.get(f"{NS_URL}/{new_name}/properties", headers=A).json["properties"]
    app.delete(f"{NS_URL}/{new_name}", headers=A, status=204)
    app.get(f"{NS_URL}/{new_name}", headers=A, status=404)


def test_unknown_namespace_404(app):
    res = app.get(f"{NS_URL}/nope", headers={**A, "Accept": "application/json"},
                  status=404)
    assert "Metadata definition namespace=nope was not found." in res.json["message"]


def test_objects_round_trip(app, ns):
    url = f"{NS_URL}/{ns}/objects"
    obj = {"name": "My Obj", "description": "o",
           "properties": {"a": {"title": "A", "type": "integer", "maximum": 3}},
           "required": ["a"]}
    created = app.post_json(url, obj, headers=A, status=201).json
    assert created["self"] == f"{url}/My Obj" and created["required"] == ["a"]
    listed = app.get(url, headers=A).json
    assert [o["name"] for o in listed["objects"]] == ["My Obj"]
    assert listed["schema"] == "v2/schemas/metadefs/objects"
    assert app.get(f"{url}/My Obj", headers=A).json["properties"] == obj["properties"]
    app.post_json(url, obj, headers=A, status=409)
    updated = app.put_json(f"{url}/My Obj", {"name": "Renamed", "properties": {}},
                           headers=A).json
    assert updated["name"] == "Renamed" and updated["required"] == []
    app.get(f"{url}/My Obj", headers=A, status=404)
    app.delete(f"{url}/Renamed", headers=A, status=204)
    app.post_json(url, obj, headers=A, status=201)
    app.delete(url, headers=A, status=204)
    assert app.get(url, headers=A).json["objects"] == []


def test_properties_round_trip(app, ns):
    url = f"{NS_URL}/{ns}/properties"
    created = app.post_json(url, {"name": "hw_bus", **PROP}, headers=A, status=201).json
    assert created == {"name": "hw_bus", **PROP}
    assert app.get(url, headers=A).json == {"properties": {"hw_bus": PROP}}
    assert app.get(f"{url}/hw_bus", headers=A).json == {"name": "hw_bus", **PROP}
    app.post_json(url, {"name": "hw_bus", **PROP}, headers=A, status=409)
    new = {"name": "hw_bus2", "title": "T", "type": "integer", "default": 2}
    assert app.put_json(f"{url}/hw_bus", new, headers=A).json == new
    app.get(f"{url}/hw_bus", headers=A, status=404)
    app.delete(f"{url}/hw_bus2", headers=A, status=204)
    app.post_json(url, {"name": "x", **PROP}, headers=A, status=201)
    app.delete(url, headers=A, status=204)
    assert app.get(url, headers=A).json == {"properties": {}}


def test_property_with_resource_type_prefix(app, ns):
    app.post_json(f"{NS_URL}/{ns}/resource_types",
                  {"name": "OS::Nova::Flavor", "prefix": "hw:"}, headers=A, status=201)
    app.post_json(f"{NS_URL}/{ns}/properties", {"name": "cpu", **PROP}, headers=A)
    got = app.get(f"{NS_URL}/{ns}/properties/hw:cpu?resource_type=OS::Nova::Flavor",
                  headers=A).json
    assert got["name"] == "cpu"
    app.get(f"{NS_URL}/{ns}/properties/cpu?resource_type=OS::Nova::Flavor", headers=A,
            status=404)


def test_tags_round_trip(app, ns):
    url = f"{NS_URL}/{ns}/tags"
    assert app.post(f"{url}/one", headers=A, status=201).json["name"] == "one"
    app.post(f"{url}/one", headers=A, status=409)
    bulk = app.post_json(url, {"tags": [{"name": "a"}, {"name": "b"}]}, headers=A,
                         status=201).json
    assert bulk == {"tags": [{"name": "a"}, {"name": "b"}]}
    # Without X-Openstack-Append the bulk create replaced "one".
    assert sorted(t["name"] for t in app.get(url, headers=A).json["tags"]) == ["a", "b"]
    app.post_json(url, {"tags": [{"name": "c"}]},
                  headers={**A, "X-Openstack-Append": "true"}, status=201)
    names = [t["name"] for t in app.get(url + "?sort_key=name&sort_dir=asc",
                                        headers=A).json["tags"]]
    assert names == ["a", "b", "c"]
    page = app.get(url + "?sort_key=name&sort_dir=asc&limit=2&marker=a", headers=A).json
    assert [t["name"] for t in page["tags"]] == ["b", "c"]
    app.post_json(url, {"tags": [{"name": "a"}]},
                  headers={**A, "X-Openstack-Append": "true"}, status=409)
    app.post_json(url, {"tags": [{"name": "d"}, {"name": "d"}]}, headers=A, status=409)
    assert app.put_json(f"{url}/a", {"name": "z"}, headers=A).json["name"] == "z"
    app.put_json(f"{url}/b", {"name": "z"}, headers=A, status=409)
    assert app.get(f"{url}/z", headers=A).json["name"] == "z"
    app.delete(f"{url}/z", headers=A, status=204)
    app.get(f"{url}/z", headers=A, status=404)
    app.delete(url, headers=A, status=204)
    assert app.get(url, headers=A).json["tags"] == []


def test_resource_type_associations(app, ns):
    url = f"{NS_URL}/{ns}/resource_types"
    body = {"name": "OS::Cinder::Volume", "prefix": "hw_", "properties_target": "image"}
    created = app.post_json(url, body, headers=A, status=201).json
    assert {k: created[k] for k in body} == body
    app.post_json(url, body, headers=A, status=409)
    # An unknown resource type is created by its first association.
    app.post_json(url, {"name": "OS::Nope::Nope"}, headers=A, status=201)
    assert "OS::Nope::Nope" in [rt["name"] for rt in app.get(
        "/v2/metadefs/resource_types", headers=A).json["resource_types"]]
    app.delete(f"{url}/OS::Nope::Nope", headers=A, status=204)
    listed = app.get(url, headers=A).json["resource_type_associations"]
    assert [a["name"] for a in listed] == ["OS::Cinder::Volume"]
    filtered = app.get(f"{NS_URL}?resource_types=OS::Cinder::Volume&limit=1000",
                       headers=A).json["namespaces"]
    assert ns in [n["namespace"] for n in filtered]
    app.delete(f"{url}/OS::Cinder::Volume", headers=A, status=204)
    app.delete(f"{url}/OS::Cinder::Volume", headers=A, status=404)


def test_policy_member_cannot_write(app, ns):
    app.post_json(NS_URL, {"namespace": _name()}, headers=M, status=403)
    app.put_json(f"{NS_URL}/{ns}", {"namespace": ns}, headers=M, status=403)
    app.delete(f"{NS_URL}/{ns}", headers=M, status=403)
    app.post_json(f"{NS_URL}/{ns}/properties", {"name": "p", **PROP}, headers=M,
                  status=403)
    app.post_json(f"{NS_URL}/{ns}/objects", {"name": "o"}, headers=M, status=403)
    app.post(f"{NS_URL}/{ns}/tags/t", headers=M, status=403)
    app.post_json(f"{NS_URL}/{ns}/resource_types", {"name": "OS::Nova::Server"},
                  headers=M, status=403)


def test_policy_visibility(app):
    private, public = _name(), _name()
    app.post_json(NS_URL, {"namespace": private}, headers=A, status=201)
    app.post_json(NS_URL, {"namespace": public, "visibility": "public"}, headers=A)
    try:
        # The owning project's reader sees its private namespace; another project not.
        app.get(f"{NS_URL}/{private}", headers=R, status=200)
        app.get(f"{NS_URL}/{private}", headers=OTHER, status=404)
        app.get(f"{NS_URL}/{private}/properties", headers=OTHER, status=404)
        app.get(f"{NS_URL}/{public}", headers=OTHER, status=200)
        seen = [n["namespace"] for n in app.get(f"{NS_URL}?limit=1000",
                                                headers=OTHER).json["namespaces"]]
        assert public in seen and private not in seen
        vis = app.get(f"{NS_URL}?visibility=private&limit=1000", headers=A).json
        assert {n["visibility"] for n in vis["namespaces"]} == {"private"}
    finally:
        for name in (private, public):
            app.delete(f"{NS_URL}/{name}", headers=A)


@pytest.mark.parametrize("body, reason", [
    ({"namespace": "has space"}, "whitespace"),
    ({"namespace": ""}, "non-empty"),
    ({"namespace": "N", "visibility": "shared"}, "visibility"),
    ({"namespace": "N", "properties": {"p": {"title": "P", "type": "string",
                                             "enum": ["a", 1]}}}, "not of type"),
    ({"namespace": "N", "properties": {"p": {"title": "P", "type": "integer",
                                             "minimum": "zero"}}}, "minimum"),
    ({"namespace": "N", "properties": {"p": {"title": "P", "type": "str"}}}, "type"),
    ({"namespace": "N", "properties": {"p": {"type": "string"}}}, "title"),
    ({"namespace": "N", "properties": {"p": {"title": "P", "type": "string",
                                             "pattern": "(["}}}, "regex"),
    ({"namespace": "N", "properties": {"p": {"title": "P", "type": "integer",
                                             "default": "x"}}}, "default"),
    ({"namespace": "N", "properties": {"p": {"title": "P", "type": "integer",
                                             "minimum": 5, "maximum": 1}}}, "greater"),
    ({"namespace": "N", "objects": [{"name": "o", "required": ["missing"]}]}, "required"),
    ({"namespace": "N", "unknown": 1}, "Additional properties"),
])
def test_bad_namespace_bodies(app, body, reason):
    res = app.post_json(NS_URL, body, headers={**A, "Accept": "application/json"},
                        status=400)
    assert reason in res.json["message"]


def test_bad_input_misc(app, ns):
    j = {**A, "Accept": "application/json"}
    app.post_json(NS_URL, {"namespace": ns}, headers=j, status=409)
    app.post_json(NS_URL, {"namespace": _name(), "self": "x"}, headers=j, status=403)
    app.post(NS_URL, "{bad", headers={**j, "Content-Type": "application/json"},
             status=400)
    app.post_json(NS_URL, [1], headers=j, status=400)
    app.post_json(f"{NS_URL}/{ns}/properties", {"name": "p", "title": "P",
                                                "type": "boolean", "enum": ["yes"]},
                  headers=j, status=400)
    app.post_json(f"{NS_URL}/{ns}/properties",
                  {"name": "p", "title": "P", "type": "array"}, headers=j, status=400)
    app.post_json(f"{NS_URL}/{ns}/objects", {"name": "x" * 81}, headers=j, status=400)
    app.post(f"{NS_URL}/{ns}/tags/{'t' * 81}", headers=j, status=400)
    app.post_json(f"{NS_URL}/{ns}/tags", {"tags": "nope"}, headers=j, status=400)
    app.post_json(f"{NS_URL}/{ns}/tags", {"tags": None}, headers=j, status=400)
    app.put_json(f"{NS_URL}/{ns}", {"namespace": "a b"}, headers=j, status=400)
    app.get(f"{NS_URL}?sort_dir=up", headers=j, status=400)
    app.get(f"{NS_URL}?sort_key=bogus", headers=j, status=400)
    app.get(f"{NS_URL}?limit=-1", headers=j, status=400)
    app.get(f"{NS_URL}?visibility=shared", headers=j, status=400)
    app.get(f"{NS_URL}?marker=Nope::Nope", headers=j, status=404)
    app.patch_json(f"{NS_URL}/{ns}", {}, headers=j, status=405)


def test_namespace_pagination(app):
    prefix = f"Page::{uuid.uuid4().hex[:6]}"
    names = [f"{prefix}::{i}" for i in range(5)]
    for name in names:
        app.post_json(NS_URL, {"namespace": name}, headers=A, status=201)
    try:
        seen, url = [], f"{NS_URL}?limit=2&sort_key=namespace&sort_dir=asc"
        first = app.get(url, headers=A).json
        assert first["first"] == f"{NS_URL}?limit=2&sort_key=namespace&sort_dir=asc"
        while url:
            page = app.get(url, headers=A).json
            seen += [n["namespace"] for n in page["namespaces"]]
            url = page.get("next")
            assert len(page["namespaces"]) <= 2
        assert [n for n in seen if n.startswith(prefix)] == names
    finally:
        for name in names:
            app.delete(f"{NS_URL}/{name}", headers=A)


@pytest.mark.parametrize("name", ["namespace", "namespaces", "object", "objects",
                                  "property", "properties", "tag", "tags",
                                  "resource_type", "resource_types"])
def test_schemas(app, name):
    doc = app.get(f"/v2/schemas/metadefs/{name}", headers=R).json
    assert doc["name"] in (name, "resource_type_association", "resource_type_associations")

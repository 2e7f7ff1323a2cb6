"""doc/api/openapi.yaml is valid OpenAPI, names every route of the router (and no
route the router lacks), and its resource schemas agree with the served ones."""

import re
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from glance.api.v2 import router, schemas
from glance.db.sqlalchemy import api as images_db
from glance.db.sqlalchemy import metadef_api, task_api
from glance.services import registry
from tests.helpers import ROOT

DOC_PATH = ROOT / "doc" / "api" / "openapi.yaml"
# Served by paste (urlmap) and the version negotiation filter, not the v2 router.
OUTSIDE_ROUTER = {("/", "get"), ("/versions", "get"), ("/healthcheck", "get"),
                  ("/healthcheck", "head")}
# The router's one regex route: every served schema name, with or without a slash.
SCHEMA_ROUTE = "/v2/schemas/{name:.*?}"
SCHEMA_PATHS = ("/v2/schemas/{name}", "/v2/schemas/metadefs/{name}")
# served schema name -> the component describing that resource
COMPONENTS = {
    "image": "Image", "member": "Member", "task": "Task",
    "metadefs/namespace": "MetadefNamespace", "metadefs/object": "MetadefObject",
    "metadefs/property": "MetadefProperty", "metadefs/tag": "MetadefTag",
    "metadefs/resource_type": "MetadefResourceTypeAssociation",
}
COMPARED = ("type", "enum", "maxLength", "minLength", "pattern", "minimum", "maximum",
            "readOnly", "required", "uniqueItems")
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    with DOC_PATH.open() as handle:
        return yaml.safe_load(handle)


def _router_operations() -> set[tuple[str, str]]:
    operations = set()
    for route in router.route_table(registry.build()):
        for method in route.methods:
            operations.add((route.path, method.lower()))
    return operations


def _doc_operations(document: dict) -> set[tuple[str, str]]:
    return {(path, method) for path, item in document["paths"].items()
            for method in item if method in HTTP_METHODS}


def test_document_is_valid_openapi(document):
    validate(document)


def test_every_route_is_documented(document):
    documented = _doc_operations(document)
    missing = []
    for path, method in sorted(_router_operations()):
        if path == SCHEMA_ROUTE:
            missing += [(p, method) for p in SCHEMA_PATHS if (p, method) not in documented]
        elif (path, method) not in documented:
            missing.append((path, method))
    assert not missing, f"routes missing from {DOC_PATH.name}: {missing}"


def test_no_documented_operation_without_a_route(document):
    routes = _router_operations()
    expected = {(p, m) for p, m in routes if p != SCHEMA_ROUTE}
    expected |= {(p, m) for p in SCHEMA_PATHS for (r, m) in routes if r == SCHEMA_ROUTE}
    extra = _doc_operations(document) - expected - OUTSIDE_ROUTER
    assert not extra, f"documented but not routed: {sorted(extra)}"


def test_path_parameters_are_declared(document):
    for path, item in document["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for method in (m for m in item if m in HTTP_METHODS):
            params = item.get("parameters", []) + item[method].get("parameters", [])
            declared = {_resolve(document, p)["name"] for p in params
                        if _resolve(document, p)["in"] == "path"}
            assert declared == names, (path, method)


def test_schema_names_match_the_served_schemas(document):
    enum = set()
    for path in SCHEMA_PATHS:
        names = document["paths"][path]["get"]["parameters"][0]["schema"]["enum"]
        prefix = path.removeprefix("/v2/schemas/").removesuffix("{name}")
        enum |= {prefix + name for name in names}
    assert enum == set(schemas.SCHEMAS)


@pytest.mark.parametrize("path, parameter, allowed", [
    ("/v2/tasks", "sort_key", task_api.SORT_KEYS),
    ("/v2/metadefs/namespaces", "sort_key", metadef_api.NAMESPACE_SORT_KEYS),
    ("/v2/metadefs/namespaces/{namespace}/objects", "sort_key",
     metadef_api.CHILD_SORT_KEYS),
    ("/v2/images", "sort_key", images_db.SORT_KEYS),
])
def test_sort_keys_match_the_code(document, path, parameter, allowed):
    params = [_resolve(document, p) for p in document["paths"][path]["get"]["parameters"]]
    found = next(p for p in params if p["name"] == parameter)
    assert set(found["schema"]["enum"]) == set(allowed)


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_component_agrees_with_served_schema(document, name):
    served = schemas.SCHEMAS[name]()
    component = document["components"]["schemas"][COMPONENTS[name]]
    _agree(served, _flat(document, component), served, document, name)


# -- helpers -----------------------------------------------------------------------------

def _resolve(root: dict, node: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _flat(root: dict, node: dict) -> dict:
    """``node`` with $ref resolved and allOf parts merged into one schema."""
    node = dict(_resolve(root, node))
    for part in node.pop("allOf", []):
        part = _flat(root, part)
        merged = {**part, **node}
        merged["properties"] = {**part.get("properties", {}), **node.get("properties", {})}
        node = merged
    if not node.get("properties"):
        node.pop("properties", None)
    if "unevaluatedProperties" in node:  # after the merge, the same as additionalProperties
        node.setdefault("additionalProperties", node.pop("unevaluatedProperties"))
    return node


def _agree(served: Any, doc: Any, served_root: dict, doc_root: dict, where: str) -> None:
    served = _flat(served_root, served)
    doc = _flat(doc_root, doc)
    for key in COMPARED:
        if key in served and not (key == "required" and isinstance(served[key], dict)):
            value, documented = served[key], doc.get(key)
            if isinstance(value, list):
                assert documented is not None and sorted(map(str, value)) == \
                    sorted(map(str, documented)), f"{where}: {key}"
            else:
                assert documented == value, f"{where}: {key} {documented!r} != {value!r}"
    # The served `is_base` (a Glance extension clients read) is `x-is-base` here.
    assert doc.get("x-is-base", True) == served.get("is_base", True), f"{where}: is_base"
    if "properties" in served:
        assert set(doc.get("properties", {})) == set(served["properties"]), where
        for prop, sub in served["properties"].items():
            _agree(sub, doc["properties"][prop], served_root, doc_root, f"{where}.{prop}")
    for key in ("items", "additionalProperties"):
        if isinstance(served.get(key), dict):
            assert key in doc, f"{where}: {key}"
            _agree(served[key], doc[key], served_root, doc_root, f"{where}.{key}")
        elif key in served:
            assert doc.get(key) == served[key], f"{where}: {key}"

"""``/v2/schemas/*`` as a running Glance 33 serves them, key by key, against ours.

Both servers run for real (Glance under uwsgi with its sdist's schema-image.json,
ours as glance-api). Structure is compared, not prose: every key, type, enum,
pattern, length, readOnly, is_base, links, definitions, additionalProperties;
``description``/``title`` texts are our own words and are skipped, and
``required`` lists compare as sets. Every difference is either gone or listed in
ALLOWED with its reason; an ALLOWED entry that no longer differs fails too.
"""

import json
from typing import Any

import pytest
import requests

from tests import helpers
from tests.glance33 import server as glance33_server

SCHEMAS = ["image", "images", "member", "members", "task", "tasks",
           "metadefs/namespace", "metadefs/namespaces", "metadefs/resource_type",
           "metadefs/resource_types", "metadefs/property", "metadefs/properties",
           "metadefs/object", "metadefs/objects", "metadefs/tag", "metadefs/tags"]
PROSE = ("description", "title")

_BOUNDS = ("Glance checks the same bounds in code (400 'Cannot be a negative value' / "
           "'must not exceed 2147483647'); our schema states them, so a validating "
           "client (warlock) fails early on the same rule")
_TASK_READ_ONLY = "set by the server only; ours says so (a task body is never PATCHed)"
_TASK_NULL = ("our task bodies carry null when there is none; Glance's leave the key "
              "out, so its schema can say string")
_TASK_COLLECTION = ("Glance serves the tasks collection's minimal form; ours is the "
                    "full one, and task lists do carry first/next on both")
_ITEM_LABEL = ("Glance's collection items keep the item schema's name label; ours say "
               "type: object instead (JSON Schema ignores name)")
_RTA_LENGTH = ("the database columns are 80 characters; ours refuses longer values with "
               "400 up front")

# path of a difference -> why it stays
ALLOWED: dict[str, str] = {
    **{f"{prefix}properties/{prop}/{key}": _BOUNDS
       for prefix in ("image/", "images/properties/images/items/")
       for prop in ("min_ram", "min_disk") for key in ("minimum", "maximum")},
    "member/additionalProperties": "our member bodies have no other key; Glance serves "
                                   "the minimal form, which leaves it out",
    "members/properties/members/items/additionalProperties": "as member",
    "task/links": "ours names the self and describedby links of a task body",
    **{f"{prefix}properties/{prop}/readOnly": _TASK_READ_ONLY
       for prefix in ("task/", "tasks/properties/tasks/items/")
       for prop in ("created_at", "expires_at", "image_id", "owner", "request_id",
                    "status", "updated_at", "user_id")},
    **{f"task/properties/{prop}/readOnly": _TASK_READ_ONLY
       for prop in ("message", "result")},
    **{f"{prefix}properties/{prop}/type": _TASK_NULL
       for prefix in ("task/", "tasks/properties/tasks/items/")
       for prop in ("image_id", "request_id", "user_id")},
    "task/properties/input/type": "a null input is 400 on both (ours up front, Glance "
                                  "'Invalid location: None'); ours says so",
    "tasks/links": _TASK_COLLECTION,
    "tasks/properties/first": _TASK_COLLECTION,
    "tasks/properties/next": _TASK_COLLECTION,
    "tasks/properties/tasks/items/links": "as task/links",
    **{f"{prefix}properties/resource_type_associations/items/properties/{prop}/maxLength":
       _RTA_LENGTH
       for prefix in ("metadefs/namespace/",
                      "metadefs/namespaces/properties/namespaces/items/")
       for prop in ("name", "prefix", "properties_target")},
    **{f"metadefs/{name}/properties/{items}/items/{key}": _ITEM_LABEL
       for name, items in (("namespaces", "namespaces"), ("objects", "objects"),
                           ("tags", "tags"),
                           ("resource_types", "resource_type_associations"))
       for key in ("name", "type")},
    **{f"metadefs/{name}/definitions/stringArray/minItems":
       "Glance serves minItems 1 but does not enforce it (an object with "
       "'required: []' is 201 on Glance 33); ours leaves it out"
       for name in ("property", "properties")},
    **{f"metadefs/{name}/definitions/property":
       "ours names the property map once in definitions; same structure"
       for name in ("property", "properties")},
    "metadefs/properties/properties/properties/$ref": "the property map by reference",
    "metadefs/properties/properties/properties/type": "inlined by Glance: see $ref",
    "metadefs/properties/properties/properties/additionalProperties":
        "inlined by Glance: see $ref",
}


def differences(glance: Any, ours: Any, path: str) -> dict[str, str]:
    """Where ``ours`` differs from ``glance`` in structure: path -> what differs."""
    found: dict[str, str] = {}
    if isinstance(glance, dict) and isinstance(ours, dict):
        for key in sorted(set(glance) | set(ours)):
            where = f"{path}/{key}"
            if key in PROSE and (isinstance(glance.get(key), str)
                                 or isinstance(ours.get(key), str)):
                continue
            if key not in ours:
                found[where] = f"only Glance: {json.dumps(glance[key])[:200]}"
            elif key not in glance:
                found[where] = f"only ours: {json.dumps(ours[key])[:200]}"
            elif key == "required" and isinstance(glance[key], list) \
                    and isinstance(ours[key], list):
                if sorted(glance[key]) != sorted(ours[key]):
                    found[where] = f"Glance {glance[key]} != ours {ours[key]}"
            else:
                found.update(differences(glance[key], ours[key], where))
    elif isinstance(glance, list) and isinstance(ours, list) and len(glance) == len(ours) \
            and all(isinstance(item, dict) for item in glance + ours):
        for index, (left, right) in enumerate(zip(glance, ours, strict=True)):
            found.update(differences(left, right, f"{path}/{index}"))
    elif glance != ours or type(glance) is not type(ours):
        found[path] = f"Glance {json.dumps(glance)[:200]} != ours {json.dumps(ours)[:200]}"
    return found


@pytest.fixture(scope="module")
def glance33(tmp_path_factory):
    server = glance33_server.Glance33(tmp_path_factory.mktemp("glance33-schemas")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def served(glance33, server) -> dict[str, tuple[dict, dict]]:
    """schema name -> (Glance 33's, ours)."""
    result = {}
    for name in SCHEMAS:
        theirs = requests.get(f"{glance33.url}/v2/schemas/{name}",
                              headers=glance33_server.identity(), timeout=30)
        mine = requests.get(f"{server.url}/v2/schemas/{name}", headers=helpers.MEMBER,
                            timeout=30)
        assert (theirs.status_code, mine.status_code) == (200, 200), name
        result[name] = (theirs.json(), mine.json())
    return result


def test_the_comparison_sees_differences():
    assert differences({"a": {"type": "string", "description": "x"}, "required": ["p", "q"]},
                       {"a": {"type": ["null", "string"], "description": "y"},
                        "required": ["q", "p"], "b": 1}, "s") == {
        "s/a/type": 'Glance "string" != ours ["null", "string"]', "s/b": "only ours: 1"}
    # a property that is itself called "description" is compared, not skipped
    assert differences({"description": {"type": "string"}},
                       {"description": {"type": "object"}}, "s") == {
        "s/description/type": 'Glance "string" != ours "object"'}


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_matches_glance33(served, name):
    glance, ours = served[name]
    found = differences(glance, ours, name)
    allowed = {path for path in ALLOWED if path.startswith(f"{name}/")}
    unexplained = {path: what for path, what in found.items() if path not in allowed}
    assert not unexplained, json.dumps(unexplained, indent=1)
    stale = sorted(allowed - set(found))
    assert not stale, f"allowed differences that are gone (drop them): {stale}"


def test_image_schema_optional_properties_are_glances(served):
    """The schema-image.json properties, with Glance's is_base: false."""
    glance, ours = served["image"]
    optional = {name for name, prop in glance["properties"].items()
                if prop.get("is_base") is False}
    assert optional == {"architecture", "os_distro", "os_version", "description",
                        "instance_uuid", "kernel_id", "ramdisk_id",
                        "cinder_encryption_key_id", "cinder_encryption_key_deletion_policy"}
    assert {name for name, prop in ours["properties"].items()
            if prop.get("is_base") is False} == optional

"""Rules of the metadata definitions catalog, shared by the API and the loader.

Every function either returns a clean value or raises MetadefInvalid (400)
with a reason a person can act on.
"""

import json
import re
from typing import Any

import jsonschema

from glance import exception

MAX_NAME = 80
JSON_TYPES = ("array", "boolean", "integer", "number", "object", "string")
VISIBILITIES = ("public", "private")
# Keys a property definition may carry; anything else is dropped.
PROPERTY_KEYS = ("title", "description", "type", "operators", "readonly", "default",
                 "enum", "minimum", "maximum", "minLength", "maxLength", "pattern",
                 "items", "minItems", "maxItems", "uniqueItems", "additionalItems")
# Of those, the keys that constrain a value (a JSON schema in their own right).
_VALUE_KEYS = ("type", "enum", "minimum", "maximum", "minLength", "maxLength", "pattern",
               "items", "minItems", "maxItems", "uniqueItems", "additionalItems")


def _invalid(reason: str) -> exception.MetadefInvalid:
    return exception.MetadefInvalid(reason=reason)


def check_name(kind: str, name: Any, *, allow_spaces: bool = True) -> str:
    """A namespace/object/property/tag/resource type name: a non-empty string of at most
    80 characters (no whitespace at all when ``allow_spaces`` is false)."""
    if not isinstance(name, str) or not name.strip():
        raise _invalid(f"the {kind} name must be a non-empty string")
    if len(name) > MAX_NAME:
        raise _invalid(f"the {kind} name '{name[:MAX_NAME]}...' is longer than "
                       f"{MAX_NAME} characters")
    if not allow_spaces and re.search(r"\s", name):
        raise _invalid(f"the {kind} name '{name}' must not contain whitespace")
    if name != name.strip():
        raise _invalid(f"the {kind} name '{name}' must not start or end with whitespace")
    if "/" in name:
        raise _invalid(f"the {kind} name '{name}' must not contain '/'")
    return name


def check_namespace_name(name: Any) -> str:
    return check_name("namespace", name, allow_spaces=False)


def _check_enum(where: str, holder: dict) -> None:
    values = holder["enum"]
    if not isinstance(values, list) or not values:
        raise _invalid(f"{where}: 'enum' must be a non-empty list")
    seen = set()
    for value in values:
        key = json.dumps(value, sort_keys=True)
        if key in seen:
            raise _invalid(f"{where}: enum value {value!r} is repeated")
        seen.add(key)
        if "type" in holder and not jsonschema.Draft4Validator(
                {"type": holder["type"]}).is_valid(value):
            raise _invalid(f"{where}: enum value {value!r} is not of type "
                           f"'{holder['type']}'")


def clean_property(name: Any, definition: Any, where: str = "") -> dict[str, Any]:
    """Validate one property definition; returns it without unknown keys."""
    name = check_name("property", name)
    label = f"{where}property '{name}'"
    if not isinstance(definition, dict):
        raise _invalid(f"{label}: the definition must be a JSON object")
    clean = {key: definition[key] for key in PROPERTY_KEYS if key in definition}
    _check_property_keys(label, clean)
    _check_property_schema(label, clean)
    return clean


def _check_property_keys(label: str, clean: dict[str, Any]) -> None:
    """The keys of a property definition that are not JSON schema."""
    if not isinstance(clean.get("title"), str):
        raise _invalid(f"{label}: 'title' is required and must be a string")
    if clean.get("type") not in JSON_TYPES:
        raise _invalid(f"{label}: 'type' is required and must be one of "
                       f"{', '.join(JSON_TYPES)}")
    for key in ("description", "pattern"):
        if key in clean and not isinstance(clean[key], str):
            raise _invalid(f"{label}: '{key}' must be a string")
    if "readonly" in clean and not isinstance(clean["readonly"], bool):
        raise _invalid(f"{label}: 'readonly' must be a boolean")
    operators = clean.get("operators", [])
    if not isinstance(operators, list) or not all(isinstance(o, str) for o in operators):
        raise _invalid(f"{label}: 'operators' must be a list of strings")


def _check_property_schema(label: str, clean: dict[str, Any]) -> None:
    """The JSON schema of a property's value: valid, consistent, its default matching."""
    value_schema = {key: clean[key] for key in _VALUE_KEYS if key in clean}
    try:
        jsonschema.Draft4Validator.check_schema(value_schema)
    except jsonschema.SchemaError as err:
        raise _invalid(f"{label} is not a valid JSON schema: {err.message}") from err
    if "pattern" in clean:
        try:
            re.compile(clean["pattern"])
        except re.error as err:
            raise _invalid(f"{label}: 'pattern' is not a valid regular expression: "
                           f"{err}") from err
    _check_items(label, clean)
    if "enum" in clean:
        _check_enum(label, clean)
    for low, high in (("minimum", "maximum"), ("minLength", "maxLength"),
                      ("minItems", "maxItems")):
        if low in clean and high in clean and clean[low] > clean[high]:
            raise _invalid(f"{label}: '{low}' is greater than '{high}'")
    if "default" in clean:
        errors = list(jsonschema.Draft4Validator(value_schema).iter_errors(clean["default"]))
        if errors:
            raise _invalid(f"{label}: default {clean['default']!r} does not match the "
                           f"definition: {errors[0].message}")


def _check_items(label: str, clean: dict[str, Any]) -> None:
    if "items" in clean:
        items = clean["items"]
        if "type" in items and items["type"] not in JSON_TYPES:
            raise _invalid(f"{label}: items 'type' must be one of {', '.join(JSON_TYPES)}")
        if "enum" in items:
            _check_enum(f"{label} items", items)
    elif clean["type"] == "array":
        raise _invalid(f"{label}: an array property needs 'items'")


def clean_properties(properties: Any, where: str = "") -> dict[str, dict]:
    if properties is None:
        return {}
    if not isinstance(properties, dict):
        raise _invalid(f"{where}'properties' must be a JSON object")
    return {name: clean_property(name, definition, where)
            for name, definition in properties.items()}


def clean_object(body: Any, where: str = "") -> dict[str, Any]:
    """Validate an object (name, description, required, properties)."""
    if not isinstance(body, dict):
        raise _invalid(f"{where}an object must be a JSON object")
    name = check_name("object", body.get("name"))
    label = f"{where}object '{name}': "
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        raise _invalid(f"{label}'description' must be a string")
    properties = clean_properties(body.get("properties"), label)
    required = body.get("required") or []
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise _invalid(f"{label}'required' must be a list of strings")
    if len(set(required)) != len(required):
        raise _invalid(f"{label}'required' lists a property twice")
    missing = [r for r in required if r not in properties]
    if missing:
        raise _invalid(f"{label}'required' names undefined properties: "
                       f"{', '.join(missing)}")
    return {"name": name, "description": description, "required": required,
            "properties": properties}


def clean_association(body: Any, where: str = "") -> dict[str, Any]:
    """A resource type association: name, optional prefix and properties_target."""
    if not isinstance(body, dict):
        raise _invalid(f"{where}a resource type association must be a JSON object")
    name = check_name("resource type", body.get("name"))
    clean: dict[str, Any] = {"name": name}
    for key in ("prefix", "properties_target"):
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > MAX_NAME:
            raise _invalid(f"{where}resource type association '{name}': '{key}' must be "
                           f"a string of at most {MAX_NAME} characters")
        clean[key] = value
    return clean


def clean_tags(tags: Any, namespace: str = "", where: str = "") -> list[str]:
    """Tag names from ``[{"name": ...}, ...]``; repeated names are an error."""
    if tags is None:
        return []
    if not isinstance(tags, list):
        raise _invalid(f"{where}'tags' must be a list")
    names: list[str] = []
    for tag in tags:
        if not isinstance(tag, dict):
            raise _invalid(f"{where}each tag must be a JSON object with a 'name'")
        name = check_name("tag", tag.get("name"))
        if name in names:
            raise exception.MetadefDuplicateTag(name=name, namespace=namespace)
        names.append(name)
    return names


def clean_namespace_document(doc: Any, *, default_owner: str | None,
                             default_visibility: str = "private",
                             default_protected: bool = False) -> dict[str, Any]:
    """A whole namespace (as POSTed, or as a definitions file) checked and normalised."""
    if not isinstance(doc, dict):
        raise _invalid("a namespace must be a JSON object")
    name = check_namespace_name(doc.get("namespace"))
    where = f"namespace '{name}': "
    for key, limit in (("display_name", MAX_NAME), ("description", 500)):
        value = doc.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise _invalid(f"{where}'{key}' must be a string of at most {limit} characters")
    visibility = doc.get("visibility") or default_visibility
    if visibility not in VISIBILITIES:
        raise _invalid(f"{where}'visibility' must be one of: public, private")
    protected = doc.get("protected", default_protected)
    if not isinstance(protected, bool):
        raise _invalid(f"{where}'protected' must be a boolean")
    owner = doc.get("owner") or default_owner
    if owner is not None and (not isinstance(owner, str) or len(owner) > 255):
        raise _invalid(f"{where}'owner' must be a string of at most 255 characters")
    associations = doc.get("resource_type_associations") or []
    if not isinstance(associations, list):
        raise _invalid(f"{where}'resource_type_associations' must be a list")
    clean_assocs = [clean_association(a, where) for a in associations]
    assoc_names = [a["name"] for a in clean_assocs]
    if len(set(assoc_names)) != len(assoc_names):
        raise _invalid(f"{where}a resource type is associated twice")
    objects = doc.get("objects") or []
    if not isinstance(objects, list):
        raise _invalid(f"{where}'objects' must be a list")
    clean_objects = [clean_object(o, where) for o in objects]
    object_names = [o["name"] for o in clean_objects]
    for object_name in object_names:
        if object_names.count(object_name) > 1:
            raise exception.MetadefDuplicateObject(name=object_name, namespace=name)
    return {
        "namespace": name, "display_name": doc.get("display_name"),
        "description": doc.get("description"), "visibility": visibility,
        "protected": protected, "owner": owner,
        "resource_type_associations": clean_assocs,
        "properties": clean_properties(doc.get("properties"), where),
        "objects": clean_objects,
        "tags": clean_tags(doc.get("tags"), name, where),
    }

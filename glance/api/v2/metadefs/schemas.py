"""JSON schemas of the metadefs resources (served under /v2/schemas/metadefs/...)."""

from typing import Any

from glance.domain.metadef import JSON_TYPES

_TYPE_ENUM = {"type": "string", "enum": [*JSON_TYPES, None]}
_STAMPS = {
    "created_at": {"type": "string", "readOnly": True, "format": "date-time",
                   "description": "When it was created."},
    "updated_at": {"type": "string", "readOnly": True, "format": "date-time",
                   "description": "When it was last changed."},
}
_LINKS = {"self": {"type": "string", "readOnly": True},
          "schema": {"type": "string", "readOnly": True}}


def definitions() -> dict[str, Any]:
    """Shared definitions: ``property`` is a map of property definitions."""
    return {
        "positiveInteger": {"type": "integer", "minimum": 0},
        "positiveIntegerDefault0": {"allOf": [{"$ref": "#/definitions/positiveInteger"},
                                              {"default": 0}]},
        "stringArray": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "property": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["title", "type"],
                "properties": _property_fields(),
            },
        },
    }


def _property_fields() -> dict[str, Any]:
    return {
        "name": {"type": "string", "maxLength": 80},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "operators": {"type": "array", "items": {"type": "string"}},
        "type": _TYPE_ENUM,
        "required": {"$ref": "#/definitions/stringArray"},
        "minimum": {"type": "number"},
        "maximum": {"type": "number"},
        "maxLength": {"$ref": "#/definitions/positiveInteger"},
        "minLength": {"$ref": "#/definitions/positiveIntegerDefault0"},
        "pattern": {"type": "string", "format": "regex"},
        "enum": {"type": "array"},
        "readonly": {"type": "boolean"},
        "default": {},
        "items": {"type": "object",
                  "properties": {"type": _TYPE_ENUM, "enum": {"type": "array"}}},
        "maxItems": {"$ref": "#/definitions/positiveInteger"},
        "minItems": {"$ref": "#/definitions/positiveIntegerDefault0"},
        "uniqueItems": {"type": "boolean", "default": False},
        "additionalItems": {"type": "boolean"},
    }


def _association_fields() -> dict[str, Any]:
    return {
        "name": {"type": "string", "maxLength": 80,
                 "description": "Resource type, such as OS::Glance::Image."},
        "prefix": {"type": "string", "maxLength": 80,
                   "description": "Prefix the resource type puts before the property "
                                  "names (hw_ for images, hw: for flavors)."},
        "properties_target": {"type": "string", "maxLength": 80,
                              "description": "Which part of the resource the "
                                             "properties go to, when it has several."},
        **_STAMPS,
    }


def _collection(name: str, item: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    key = key or name
    document = {
        "name": name,
        "properties": {key: {"type": "array", "items": _item_view(item)},
                       "schema": {"type": "string"}, "first": {"type": "string"},
                       "next": {"type": "string"}},
        "links": [{"href": "{first}", "rel": "first"}, {"href": "{next}", "rel": "next"},
                  {"href": "{schema}", "rel": "describedby"}],
    }
    if "definitions" in item:
        document["definitions"] = item["definitions"]
    return document


def _item_view(item: dict[str, Any]) -> dict[str, Any]:
    view = {key: value for key, value in item.items() if key not in ("name", "definitions")}
    view["type"] = "object"
    return view


def namespace() -> dict[str, Any]:
    return {
        "name": "namespace",
        "required": ["namespace"],
        "additionalProperties": False,
        "definitions": definitions(),
        "properties": {
            "namespace": {"type": "string", "maxLength": 80,
                          "description": "Unique name of the namespace (no whitespace)."},
            "display_name": {"type": "string", "maxLength": 80,
                             "description": "Name shown by user interfaces."},
            "description": {"type": "string", "maxLength": 500,
                            "description": "What the namespace is about."},
            "visibility": {"type": "string", "enum": ["public", "private"],
                           "description": "Whether every project sees the namespace."},
            "protected": {"type": "boolean",
                          "description": "When true, the namespace cannot be deleted."},
            "owner": {"type": "string", "maxLength": 255,
                      "description": "Project that owns the namespace."},
            **_STAMPS, **_LINKS,
            "resource_type_associations": {
                "type": "array",
                "items": {"type": "object", "properties": {
                    key: value for key, value in _association_fields().items()
                    if key in ("name", "prefix", "properties_target")}}},
            "properties": {"$ref": "#/definitions/property"},
            "objects": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"}, "description": {"type": "string"},
                "required": {"$ref": "#/definitions/stringArray"},
                "properties": {"$ref": "#/definitions/property"}}}},
            "tags": {"type": "array", "items": {"type": "object",
                                                "properties": {"name": {"type": "string"}}}},
        },
    }


def namespaces() -> dict[str, Any]:
    return _collection("namespaces", namespace())


def metadef_object() -> dict[str, Any]:
    return {
        "name": "object",
        "required": ["name"],
        "additionalProperties": False,
        "definitions": definitions(),
        "properties": {
            "name": {"type": "string", "maxLength": 80},
            "description": {"type": "string"},
            "required": {"$ref": "#/definitions/stringArray"},
            "properties": {"$ref": "#/definitions/property"},
            **_STAMPS, **_LINKS,
        },
    }


def objects() -> dict[str, Any]:
    return _collection("objects", metadef_object())


def metadef_property() -> dict[str, Any]:
    return {
        "name": "property",
        "required": ["name", "title", "type"],
        "additionalProperties": False,
        "definitions": definitions(),
        "properties": _property_fields(),
    }


def properties() -> dict[str, Any]:
    return {
        "name": "properties",
        "definitions": definitions(),
        "properties": {"properties": {"$ref": "#/definitions/property"},
                       "schema": {"type": "string"}, "first": {"type": "string"},
                       "next": {"type": "string"}},
        "links": [{"href": "{first}", "rel": "first"}, {"href": "{next}", "rel": "next"},
                  {"href": "{schema}", "rel": "describedby"}],
    }


def tag() -> dict[str, Any]:
    return {
        "name": "tag",
        "required": ["name"],
        "additionalProperties": False,
        "properties": {"name": {"type": "string", "maxLength": 80}, **_STAMPS},
    }


def tags() -> dict[str, Any]:
    return _collection("tags", tag())


def resource_type_association() -> dict[str, Any]:
    return {
        "name": "resource_type_association",
        "required": ["name"],
        "additionalProperties": False,
        "properties": _association_fields(),
    }


def resource_type_associations() -> dict[str, Any]:
    return _collection("resource_type_associations", resource_type_association())


SCHEMAS = {
    "metadefs/namespace": namespace,
    "metadefs/namespaces": namespaces,
    "metadefs/object": metadef_object,
    "metadefs/objects": objects,
    "metadefs/property": metadef_property,
    "metadefs/properties": properties,
    "metadefs/tag": tag,
    "metadefs/tags": tags,
    "metadefs/resource_type": resource_type_association,
    "metadefs/resource_types": resource_type_associations,
}

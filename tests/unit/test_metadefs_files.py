"""Sanity checks for the metadata definition catalog in etc/metadefs.

Each file holds one namespace in the layout read by
``glance-manage db load_metadefs``. These tests only need the standard
library, pytest and jsonschema.
"""

import json
import pathlib
import re

import jsonschema
import pytest

METADEFS_DIR = pathlib.Path(__file__).resolve().parents[2] / "etc" / "metadefs"
FILES = sorted(METADEFS_DIR.glob("*.json"))

KNOWN_RESOURCE_TYPES = {
    "OS::Glance::Image",
    "OS::Cinder::Volume",
    "OS::Nova::Server",
    "OS::Nova::Flavor",
    "OS::Nova::Aggregate",
    "OS::Trove::Instance",
}
JSON_TYPES = {"string", "integer", "number", "boolean", "array", "object",
              "null"}

REQUIRED_NAMESPACES = {
    "compute-hypervisor.json": "OS::Compute::Hypervisor",
    "compute-cpu-pinning.json": "OS::Compute::CPUPinning",
    "compute-guest-memory-backing.json": "OS::Compute::GuestMemoryBacking",
    "compute-watchdog.json": "OS::Compute::Watchdog",
    "compute-randomgen.json": "OS::Compute::RandomNumberGenerator",
    "compute-libvirt-image.json": "OS::Compute::LibvirtImage",
    "compute-libvirt.json": "OS::Compute::Libvirt",
    "compute-instance-data.json": "OS::Compute::InstanceData",
    "compute-host-capabilities.json": "OS::Compute::HostCapabilities",
}

# Structure of one namespace file (the property definitions themselves are
# checked separately, below).
PROPERTY_SCHEMA = {
    "type": "object",
    "required": ["title", "type"],
    "properties": {
        "title": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "type": {"enum": sorted(JSON_TYPES)},
        "enum": {"type": "array", "minItems": 1},
        "operators": {"type": "array", "items": {"type": "string"}},
        "readonly": {"type": "boolean"},
        "minimum": {"type": "number"},
        "maximum": {"type": "number"},
        "minLength": {"type": "integer", "minimum": 0},
        "maxLength": {"type": "integer", "minimum": 0},
        "pattern": {"type": "string"},
        "items": {"type": "object"},
    },
}
PROPERTIES_MAP_SCHEMA = {
    "type": "object",
    "propertyNames": {"pattern": r"^\S+$"},
    "additionalProperties": PROPERTY_SCHEMA,
}
NAMESPACE_FILE_SCHEMA = {
    "type": "object",
    "required": ["namespace", "display_name", "description",
                 "resource_type_associations"],
    "additionalProperties": False,
    "properties": {
        "namespace": {"type": "string", "minLength": 1, "maxLength": 80,
                      "pattern": r"^\S+$"},
        "display_name": {"type": "string", "minLength": 1},
        "description": {"type": "string", "minLength": 1},
        "visibility": {"enum": ["public", "private"]},
        "protected": {"type": "boolean"},
        "owner": {"type": "string"},
        "resource_type_associations": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string"},
                    "prefix": {"type": "string", "minLength": 1},
                    "properties_target": {"type": "string",
                                          "minLength": 1},
                },
            },
        },
        "properties": PROPERTIES_MAP_SCHEMA,
        "objects": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "properties"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "description": {"type": "string"},
                    "required": {"type": "array",
                                 "items": {"type": "string"}},
                    "properties": PROPERTIES_MAP_SCHEMA,
                },
            },
        },
        "tags": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string", "minLength": 1}},
            },
        },
    },
}


class DuplicateKeyError(ValueError):
    pass


def _no_duplicate_keys(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise DuplicateKeyError(f"duplicate JSON key {key!r}")
        seen[key] = value
    return seen


def _load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f, object_pairs_hook=_no_duplicate_keys)


def _all_properties(doc):
    """Yield (where, name, definition) for every property of a namespace."""
    for name, definition in (doc.get("properties") or {}).items():
        yield "properties", name, definition
    for obj in doc.get("objects") or []:
        for name, definition in (obj.get("properties") or {}).items():
            yield f"object {obj['name']!r}", name, definition


def _value_schema(definition):
    """The JSON schema a value (default, enum member) must satisfy."""
    keys = ("type", "enum", "minimum", "maximum", "minLength", "maxLength",
            "pattern", "items")
    return {k: definition[k] for k in keys if k in definition}


def _check_value(value, schema, what):
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as exc:
        pytest.fail(f"{what}: {value!r} does not satisfy {schema!r}: "
                    f"{exc.message}")


def test_catalog_is_not_empty():
    assert FILES, f"no metadefs files found in {METADEFS_DIR}"


@pytest.mark.parametrize("filename,namespace",
                         sorted(REQUIRED_NAMESPACES.items()))
def test_required_namespaces_present(filename, namespace):
    path = METADEFS_DIR / filename
    assert path.is_file(), f"{filename} is missing"
    assert _load(path)["namespace"] == namespace


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_valid_json_without_duplicate_keys(path):
    try:
        _load(path)
    except (ValueError, DuplicateKeyError) as exc:
        pytest.fail(f"{path.name}: {exc}")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_file_structure(path):
    doc = _load(path)
    jsonschema.Draft7Validator.check_schema(NAMESPACE_FILE_SCHEMA)
    errors = sorted(jsonschema.Draft7Validator(
        NAMESPACE_FILE_SCHEMA).iter_errors(doc), key=lambda e: e.path)
    assert not errors, "\n".join(
        f"{list(e.path)}: {e.message}" for e in errors)
    assert doc.get("properties") or doc.get("objects"), \
        "namespace defines neither properties nor objects"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_namespace_name(path):
    name = _load(path)["namespace"]
    assert not re.search(r"\s", name), f"namespace {name!r} has whitespace"
    assert name == name.strip()


def test_namespace_names_unique():
    names = [_load(p)["namespace"] for p in FILES]
    dupes = {n for n in names if names.count(n) > 1}
    assert not dupes, f"namespaces defined twice: {sorted(dupes)}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_resource_type_associations(path):
    assocs = _load(path)["resource_type_associations"]
    names = [a["name"] for a in assocs]
    assert len(names) == len(set(names)), "duplicate association"
    for assoc in assocs:
        assert assoc["name"] in KNOWN_RESOURCE_TYPES, assoc["name"]
        if "prefix" in assoc:
            assert not re.search(r"\s", assoc["prefix"]), assoc


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_duplicate_property_or_object_names(path):
    doc = _load(path)
    seen = {}
    for where, name, _definition in _all_properties(doc):
        assert name not in seen, (
            f"property {name!r} defined in {seen[name]} and in {where}")
        seen[name] = where
    objects = [o["name"] for o in doc.get("objects") or []]
    assert len(objects) == len(set(objects)), "duplicate object names"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_object_required_lists(path):
    for obj in _load(path).get("objects") or []:
        for name in obj.get("required", []):
            assert name in obj["properties"], (
                f"object {obj['name']!r} requires unknown property {name!r}")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_property_definitions_are_schemas(path):
    for where, name, definition in _all_properties(_load(path)):
        schema = _value_schema(definition)
        try:
            jsonschema.Draft4Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            pytest.fail(f"{path.name} {where} {name}: {exc.message}")
        assert definition["type"] in JSON_TYPES
        if definition["type"] == "array":
            assert "items" in definition, f"{name}: array without items"
            assert definition["items"].get("type") in JSON_TYPES
        if "minimum" in definition and "maximum" in definition:
            assert definition["minimum"] <= definition["maximum"], name


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_enums_match_declared_type(path):
    for where, name, definition in _all_properties(_load(path)):
        holders = [(f"{name}.enum", definition)]
        if "items" in definition:
            holders.append((f"{name}.items.enum", definition["items"]))
        for label, holder in holders:
            if "enum" not in holder:
                continue
            values = holder["enum"]
            assert isinstance(values, list) and values, label
            assert len(values) == len(set(map(json.dumps, values))), (
                f"{path.name} {label} has repeated values")
            for value in values:
                _check_value(value, {"type": holder["type"]},
                             f"{path.name} {where} {label}")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_defaults_match_definition(path):
    for where, name, definition in _all_properties(_load(path)):
        if "default" in definition:
            _check_value(definition["default"], _value_schema(definition),
                         f"{path.name} {where} {name}.default")


def test_hypervisor_type_includes_vz():
    doc = _load(METADEFS_DIR / "compute-hypervisor.json")
    assert doc["namespace"] == "OS::Compute::Hypervisor"
    prop = doc["properties"]["hypervisor_type"]
    assert prop["type"] == "string"
    assert "vz" in prop["enum"]
    for other in ("baremetal", "hyperv", "kvm", "lxc", "powervm", "qemu",
                  "uml", "vmware", "xen"):
        assert other in prop["enum"], other
    assert set(doc["properties"]["vm_mode"]["enum"]) == {
        "hvm", "xen", "uml", "exe"}

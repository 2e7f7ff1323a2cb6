"""JSON schemas of the API's resources: served under /v2/schemas and used to validate."""

import copy
from typing import Any

import jsonschema
from oslo_config import cfg

from glance import exception

CONF = cfg.CONF

UUID_PATTERN = ("^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
                "-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$")

IMAGE_STATUSES = ["queued", "saving", "active", "killed", "deleted", "uploading",
                  "importing", "pending_delete", "deactivated"]
VISIBILITIES = ["community", "public", "private", "shared"]


def _nullable_string(max_length: int | None = None, **extra) -> dict:
    prop: dict[str, Any] = {"type": ["null", "string"], **extra}
    if max_length:
        prop["maxLength"] = max_length
    return prop


def _image_properties() -> dict[str, dict]:
    """The image attributes: base columns first, then well-known optional properties."""
    return {
        "id": {"type": "string", "description": "Unique identifier (a UUID).",
               "pattern": UUID_PATTERN},
        "name": _nullable_string(255, description="Human-readable name."),
        "status": {"type": "string", "readOnly": True, "enum": IMAGE_STATUSES,
                   "description": "Where the image is in its life cycle."},
        "visibility": {"type": "string", "enum": VISIBILITIES,
                       "description": "Who can see the image."},
        "protected": {"type": "boolean",
                      "description": "When true, the image cannot be deleted."},
        "os_hidden": {"type": "boolean",
                      "description": "When true, default listings leave the image out."},
        "checksum": _nullable_string(32, readOnly=True,
                                     description="MD5 of the image data (legacy)."),
        "os_hash_algo": _nullable_string(64, readOnly=True,
                                         description="Algorithm of os_hash_value."),
        "os_hash_value": _nullable_string(128, readOnly=True,
                                          description="Secure hash of the image data."),
        "owner": _nullable_string(255, description="Project that owns the image."),
        "size": {"type": ["null", "integer"], "readOnly": True,
                 "description": "Size of the image data in bytes."},
        "virtual_size": {"type": ["null", "integer"], "readOnly": True,
                         "description": "Size of the virtual disk in bytes."},
        "container_format": {"type": ["null", "string"],
                             "enum": [None] + CONF.image_format.container_formats,
                             "description": "Format of the container around the disk."},
        "disk_format": {"type": ["null", "string"],
                        "enum": [None] + CONF.image_format.disk_formats,
                        "description": "Format of the disk image."},
        "created_at": {"type": "string", "readOnly": True,
                       "description": "When the image was created."},
        "updated_at": {"type": "string", "readOnly": True,
                       "description": "When the image was last changed."},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 255},
                 "description": "Free-form labels (a set)."},
        "direct_url": {"type": "string", "readOnly": True,
                       "description": "URL of the data in its store (when enabled)."},
        "min_ram": {"type": "integer", "minimum": 0, "maximum": 2 ** 31 - 1,
                    "description": "RAM in MiB needed to boot the image."},
        "min_disk": {"type": "integer", "minimum": 0, "maximum": 2 ** 31 - 1,
                     "description": "Disk in GiB needed to boot the image."},
        "self": {"type": "string", "readOnly": True},
        "file": {"type": "string", "readOnly": True},
        "stores": {"type": "string", "readOnly": True,
                   "description": "Comma-separated ids of the stores holding the data."},
        "schema": {"type": "string", "readOnly": True},
        "locations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "url": {"type": "string", "maxLength": 255},
                    "metadata": {"type": "object"},
                    "validation_data": {
                        "type": "object", "writeOnly": True,
                        "additionalProperties": False,
                        "properties": {
                            "checksum": {"type": "string", "minLength": 32,
                                         "maxLength": 32},
                            "os_hash_algo": {"type": "string", "maxLength": 64},
                            "os_hash_value": {"type": "string", "maxLength": 128},
                        },
                        "required": ["os_hash_algo", "os_hash_value"],
                    },
                },
                "required": ["url", "metadata"],
            },
            "description": "Where the image data is stored (when enabled).",
        },
        # Well-known optional properties (stored like any additional property).
        **_optional_properties(),
    }


def _optional_properties() -> dict[str, dict]:
    """The properties of Glance's ``schema-image.json``: not base properties
    (``is_base: false``), so python-glanceclient ``add``s them to an image lacking
    them instead of ``replace``-ing (which is 409 for a missing property)."""
    optional = {
        "kernel_id": _nullable_string(pattern=UUID_PATTERN,
                                      description="Image to use as kernel (AMI)."),
        "ramdisk_id": _nullable_string(pattern=UUID_PATTERN,
                                       description="Image to use as ramdisk (AMI)."),
        "instance_uuid": {"type": "string",
                          "description": "Server this image is a snapshot of."},
        "architecture": {"type": "string",
                         "description": "CPU architecture the image needs (x86_64, aarch64)."},
        "os_distro": {"type": "string",
                      "description": "Operating system distribution (ubuntu, fedora...)."},
        "os_version": {"type": "string", "description": "Operating system version."},
        "description": {"type": "string", "description": "Free text about the image."},
        "cinder_encryption_key_id": {
            "type": "string", "description": "Key manager id of the key that encrypts "
                                             "this volume-backed image."},
        "cinder_encryption_key_deletion_policy": {
            "type": "string", "enum": ["on_image_deletion", "do_not_delete"],
            "description": "Whether the encryption key goes when the image goes."},
    }
    for prop in optional.values():
        prop["is_base"] = False
    return optional


# Attributes stored as columns of the images table (everything else is a property).
BASE_ATTRIBUTES = ("id", "name", "status", "visibility", "protected", "os_hidden",
                   "checksum", "os_hash_algo", "os_hash_value", "owner", "size",
                   "virtual_size", "container_format", "disk_format", "created_at",
                   "updated_at", "tags", "min_ram", "min_disk")
READ_ONLY = ("created_at", "updated_at", "status", "checksum", "os_hash_algo",
             "os_hash_value", "size", "virtual_size", "direct_url", "self", "file",
             "schema", "stores")
RESERVED = ("location", "deleted", "deleted_at")
RESERVED_PREFIX = "os_glance"


def image_schema() -> dict:
    """The ``image`` schema document."""
    return {
        "name": "image",
        "properties": _image_properties(),
        "additionalProperties": {"type": "string"},
        "links": [
            {"href": "{self}", "rel": "self"},
            {"href": "{file}", "rel": "enclosure"},
            {"href": "{schema}", "rel": "describedby"},
        ],
    }


def collection_schema(name: str, item_schema: dict) -> dict:
    """A paged collection of ``item_schema`` documents (``images``, ``members``...)."""
    return {
        "name": name,
        "properties": {
            name: {"type": "array", "items": item_schema},
            "schema": {"type": "string"},
            "first": {"type": "string"},
            "next": {"type": "string"},
        },
        "links": [
            {"href": "{first}", "rel": "first"},
            {"href": "{next}", "rel": "next"},
            {"href": "{schema}", "rel": "describedby"},
        ],
    }


def images_schema() -> dict:
    """The ``images`` schema document."""
    return collection_schema("images", image_schema())


def _short_path(error: jsonschema.ValidationError) -> str:
    return "/".join(str(part) for part in error.absolute_path)


def validate(schema: dict, document: Any) -> None:
    """Raise SchemaValidationError with a short, clear message if ``document`` is invalid."""
    validator = jsonschema.Draft4Validator(_validation_view(schema))
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is None:
        return
    where = _short_path(error)
    detail = f"{where}: {error.message}" if where else error.message
    raise exception.SchemaValidationError(
        f"Provided object does not match schema '{schema['name']}': {detail}")


def _validation_view(schema: dict) -> dict:
    """The schema as a validator needs it: the top-level ``name`` key is only a label."""
    view = copy.copy(schema)
    view.pop("name", None)
    view.pop("links", None)
    view["type"] = "object"
    return view


def validate_property(schema: dict, name: str, value: Any) -> None:
    """Validate one attribute's value (JSON-patch values) against the schema."""
    prop_schema = schema["properties"].get(name, schema.get("additionalProperties"))
    if prop_schema is None or prop_schema is False:
        return
    validate({"name": schema["name"], "properties": {name: prop_schema}}, {name: value})

"""The Image entity: its attributes, its status machine and its change rules."""

import dataclasses
import uuid
from datetime import datetime
from typing import Any

from glance import exception, schema

# status -> statuses it may move to. The one place image status rules live.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"saving", "uploading", "importing", "active", "deleted"}),
    "saving": frozenset({"active", "killed", "queued", "deleted"}),
    "uploading": frozenset({"importing", "queued", "deleted"}),
    "importing": frozenset({"active", "queued", "deleted"}),
    "active": frozenset({"pending_delete", "deleted", "deactivated"}),
    "deactivated": frozenset({"active", "deleted", "pending_delete"}),
    "killed": frozenset({"deleted"}),
    "pending_delete": frozenset({"deleted"}),
    "deleted": frozenset(),
}

# Location operation -> image statuses it is allowed in (JSON-patch on /locations).
# The one place location status rules live; any other status answers 409.
LOCATION_RULES: dict[str, frozenset[str]] = {
    "add": frozenset({"queued", "active"}),
    "replace": frozenset({"queued", "active"}),
    "remove": frozenset({"active"}),
}

# Base attributes a user may set (on create and with PATCH).
WRITABLE_BASE = ("name", "visibility", "protected", "os_hidden", "min_ram", "min_disk",
                 "disk_format", "container_format", "owner")
# Base attributes that can never be removed with PATCH.
NOT_REMOVABLE = tuple(a for a in schema.BASE_ATTRIBUTES if a != "id") + ("tags",)
# Only changeable while no data has been uploaded.
FORMAT_ATTRIBUTES = ("disk_format", "container_format")


def check_transition(current: str, target: str) -> None:
    """Raise Conflict unless the status machine allows ``current`` -> ``target``."""
    if target not in STATUS_TRANSITIONS.get(current, ()):
        raise exception.InvalidImageStatusTransition(current=current, target=target)


def check_formats(image: "Image") -> None:
    """400 unless ``image`` has a disk and a container format: an image takes no
    data (an upload, a first location) without both, as in Glance."""
    missing = [name for name in FORMAT_ATTRIBUTES if not getattr(image, name)]
    if missing:
        noun = "Properties" if len(missing) > 1 else "Property"
        raise exception.FormatsRequired(what=f"{noun} {', '.join(missing)}")


def check_location_operation(operation: str, status: str) -> None:
    """Raise Conflict unless LOCATION_RULES allows ``operation`` in ``status``."""
    if status not in LOCATION_RULES[operation]:
        raise exception.Conflict(
            f"It's not allowed to {operation} locations if image status is {status}.")


def check_settable(name: str) -> None:
    """Refuse read-only and reserved attribute names (403)."""
    if name in schema.READ_ONLY:
        raise exception.ReadonlyProperty(name=name)
    if name in schema.RESERVED or name.startswith(schema.RESERVED_PREFIX):
        raise exception.ReservedProperty(name=name)


@dataclasses.dataclass
class Image:
    """An image's metadata. ``extra`` holds the additional (string) properties."""

    id: str
    status: str = "queued"
    name: str | None = None
    visibility: str = "shared"
    protected: bool = False
    os_hidden: bool = False
    owner: str | None = None
    disk_format: str | None = None
    container_format: str | None = None
    size: int | None = None
    virtual_size: int | None = None
    checksum: str | None = None
    os_hash_algo: str | None = None
    os_hash_value: str | None = None
    min_ram: int = 0
    min_disk: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    tags: list[str] = dataclasses.field(default_factory=list)
    extra: dict[str, str] = dataclasses.field(default_factory=dict)
    locations: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "Image":
        """Build from a repository dict (columns + properties/tags/locations)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in record.items() if k in fields}
        values["extra"] = dict(record.get("properties", {}))
        return cls(**values)

    def column_values(self) -> dict[str, Any]:
        """The base-column values, for the repository."""
        return {name: getattr(self, name) for name in schema.BASE_ATTRIBUTES
                if name not in ("tags", "created_at", "updated_at")}

    # -- changes ------------------------------------------------------------------------

    def has_attribute(self, name: str) -> bool:
        return name in schema.BASE_ATTRIBUTES or name in self.extra

    def set_attribute(self, name: str, value: Any) -> None:
        """Set a writable base attribute or an additional property."""
        check_settable(name)
        if name == "id":
            raise exception.ReadonlyProperty(name=name)
        if name == "tags":
            self.tags = list(dict.fromkeys(value))
        elif name in FORMAT_ATTRIBUTES:
            if self.status != "queued" and getattr(self, name) != value:
                raise exception.Forbidden(
                    f"Attribute {name} can be only replaced for a queued image.")
            setattr(self, name, value)
        elif name in WRITABLE_BASE:
            setattr(self, name, value)
        else:
            self.extra[name] = value

    def remove_attribute(self, name: str) -> None:
        """Remove an additional property; base attributes cannot be removed."""
        check_settable(name)
        if name in NOT_REMOVABLE or name == "id":
            raise exception.PropertyNotRemovable(name=name)
        if name not in self.extra:
            raise exception.PropertyNotFound(name=name)
        del self.extra[name]


def new_image_id() -> str:
    """A fresh random image id."""
    return str(uuid.uuid4())

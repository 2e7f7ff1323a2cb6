"""The Task entity: asynchronous work (imports) with its status machine and expiry."""

import dataclasses
import uuid
from datetime import datetime, timedelta
from typing import Any

from oslo_utils import timeutils

from glance import exception

TYPES = ("import", "api_image_import", "location_import")
STATUSES = ("pending", "processing", "success", "failure")
FINAL_STATUSES = frozenset({"success", "failure"})

# status -> statuses it may move to. The one place task status rules live.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"processing", "failure"}),
    "processing": frozenset({"success", "failure"}),
    "success": frozenset(),
    "failure": frozenset(),
}


def check_transition(current: str, target: str) -> None:
    """Raise Conflict unless ``current`` -> ``target`` is allowed."""
    if target not in STATUS_TRANSITIONS.get(current, ()):
        raise exception.InvalidTaskStatusTransition(current=current, target=target)


def expiry(ended_at: datetime, ttl_hours: int) -> datetime:
    """When a task that ended at ``ended_at`` stops being visible."""
    return ended_at + timedelta(hours=ttl_hours)


def new_task_id() -> str:
    """A fresh random task id."""
    return str(uuid.uuid4())


@dataclasses.dataclass
class Task:
    """A task as the API shows it."""

    id: str
    type: str
    status: str
    owner: str
    input: dict[str, Any] = dataclasses.field(default_factory=dict)
    result: dict[str, Any] | None = None
    message: str = ""
    expires_at: datetime | None = None
    image_id: str | None = None
    request_id: str | None = None
    user_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "Task":
        """Build from a repository dict."""
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in record.items() if k in fields}
        values["input"] = values.get("input") or {}
        values["message"] = values.get("message") or ""
        return cls(**values)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timeutils.utcnow())


def validate_import_input(task_input: Any) -> dict[str, Any]:
    """The input of a legacy ``import`` task: import_from (a URL), its format, properties."""
    if not isinstance(task_input, dict):
        raise exception.BadRequest("Task input must be a JSON object.")
    missing = [key for key in ("import_from", "import_from_format", "image_properties")
               if key not in task_input]
    if "import_from" in missing or not isinstance(task_input.get("import_from"), str):
        raise exception.BadRequest(f"Invalid location: {task_input.get('import_from')}")
    if missing:
        raise exception.BadRequest(f"Input does not contain '{missing[0]}' field")
    if not isinstance(task_input["image_properties"], dict):
        raise exception.BadRequest("image_properties must be a JSON object.")
    return task_input

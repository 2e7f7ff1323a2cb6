"""What a list call may ask the repository for: the public query types of
``glance.db``.

The API layer builds these from query strings; the SQLAlchemy repositories
(``glance.db.sqlalchemy.api``, ``task_api``, ``metadef_api``) turn them into SQL.
Nothing here imports SQLAlchemy.
"""

from dataclasses import dataclass, field
from typing import Any

# Sort keys of ``GET /v2/images`` (base image columns).
IMAGE_SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id",
                   "created_at", "updated_at", "min_disk", "min_ram", "visibility",
                   "owner", "virtual_size", "os_hidden", "protected")
# Sort keys of ``GET /v2/tasks``.
TASK_SORT_KEYS = ("id", "type", "status", "owner", "created_at", "updated_at",
                  "expires_at")
# Sort keys of the metadefs namespace list, and of its objects' and tags' lists.
NAMESPACE_SORT_KEYS = ("created_at", "updated_at", "namespace", "display_name", "id")
CHILD_SORT_KEYS = ("created_at", "updated_at", "name", "id")


@dataclass
class Filter:
    """One condition on a base image column: ``column <op> value``."""

    column: str
    op: str  # eq, neq, in, gt, gte, lt, lte
    value: Any


@dataclass
class ImageQuery:
    """Everything an image list call can ask for."""

    filters: list[Filter] = field(default_factory=list)
    properties: dict[str, list[str]] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    visibility: str | None = None
    member_status: str = "accepted"
    sort: list[tuple[str, str]] = field(default_factory=lambda: [("created_at", "desc")])
    limit: int = 25
    marker: str | None = None


@dataclass
class TaskFilter:
    """One condition ``column = value`` on a task column."""

    column: str
    value: Any


@dataclass
class TaskQuery:
    """Everything a task list call can ask for."""

    filters: list[TaskFilter] = field(default_factory=list)
    sort: list[tuple[str, str]] = field(default_factory=lambda: [("created_at", "desc")])
    limit: int = 25
    marker: str | None = None

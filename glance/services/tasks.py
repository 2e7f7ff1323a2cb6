"""The tasks API's use cases: create, show, list; and which task types it can run.

What a task type does is not known here: the composition root
(``glance.services.registry``) hands ``TaskService`` a map from type name to
``TaskType`` (the ``import`` type runs a legacy import; ``api_image_import`` tasks
are made by the image import API and only cleaned up after an interruption).
"""

import builtins
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from oslo_log import log as logging

from glance.db.queries import TaskQuery
from glance.domain import task as domain
from glance.services.task_lifecycle import CleanUp, Runner, TaskLifecycle

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskType:
    """What the tasks API does with one type of task.

    ``run`` is None for a type the tasks API may not create (it fails at once, as
    in Glance); ``check_input`` returns the input to store (400 when bad);
    ``clean_up`` undoes what an interrupted task of this type left behind.
    """

    run: Runner | None = None
    check_input: Callable[[Any], Any] | None = None
    clean_up: CleanUp | None = None


class TaskService:
    """Task operations, with policy and status rules applied."""

    def __init__(self, lifecycle: TaskLifecycle, task_types: Mapping[str, TaskType],
                 enforcer, db) -> None:
        self.lifecycle = lifecycle
        self.task_types = task_types
        self.policy = enforcer
        self.db = db

    def _authorize(self, context) -> None:
        """``tasks_api_access``, the one rule of the tasks API, with an empty target
        (as in Glance since Xena: get_task, get_tasks and add_task are registered
        but not checked; the database shows a project its own tasks only)."""
        self.policy.authorize(context, "tasks_api_access", {})

    def create(self, context, task_type: str, task_input: Any) -> domain.Task:
        """Create a task from the tasks API and start it."""
        self._authorize(context)
        kind = self.task_types.get(task_type)
        if kind is not None and kind.run is not None and kind.check_input is not None:
            task_input = kind.check_input(task_input)
        task = self.lifecycle.new_task(context, task_type, task_input or {})
        if kind is None or kind.run is None:
            self.lifecycle.fail(task.id, f"Task of type {task_type} can only be created "
                                         "by the image import API.",
                                expected_status="pending")
        else:
            self.lifecycle.submit(task, kind.run)
        return task

    def get(self, context, task_id: str) -> domain.Task:
        """A task the caller may see (expired tasks are not found)."""
        self._authorize(context)
        return domain.Task.from_record(self.db.task_get(context, task_id))

    def list(self, context, query: TaskQuery) -> list[domain.Task]:
        """One page of the caller's visible tasks."""
        self._authorize(context)
        return [domain.Task.from_record(r) for r in self.db.task_get_all(context, query)]

    def for_image(self, context, image_id: str) -> builtins.list[domain.Task]:
        """Tasks about an image (the caller's access to the image is checked by the caller)."""
        return self.lifecycle.for_image(context, image_id)

    def recover_interrupted(self) -> builtins.list[str]:
        """Fail the tasks a dead process of this host left unfinished, after each
        type's clean-up; returns their ids."""
        return self.lifecycle.recover_interrupted(self._clean_up)

    def _clean_up(self, record: dict[str, Any]) -> None:
        kind = self.task_types.get(record.get("type") or "")
        if kind is not None and kind.clean_up is not None:
            kind.clean_up(record)

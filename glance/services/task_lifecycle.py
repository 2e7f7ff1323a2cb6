"""A task's life: created ``pending``, run on the background pool, ended in
``success`` or ``failure`` (the expiry clock starts then); and, at start-up, the
failing of tasks a dead process of this host left unfinished.

The services that start background work (import, locations, the tasks API)
share one ``TaskLifecycle``; it knows nothing of what a task does.
"""

import builtins
from collections.abc import Callable
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import timeutils

from glance import exception, notifier
from glance.db.sqlalchemy import task_api
from glance.domain import task as domain
from glance.services import background

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

INTERRUPTED_MESSAGE = ("The glance-api process running this task stopped before the "
                       "task finished; the task was failed when the API started again.")
INTERNAL_ERROR_MESSAGE = "Task failed due to Internal Error"

Runner = Callable[[domain.Task], Any]
CleanUp = Callable[[dict[str, Any]], None]


class TaskLifecycle:
    """Task rows through their states, and the background run of a task."""

    def __init__(self, db) -> None:
        self.db = db

    def new_task(self, context, task_type: str, task_input: dict[str, Any],
                 image_id: str | None = None, owner: str | None = None) -> domain.Task:
        """Insert a pending task run by this process."""
        values = {"id": domain.new_task_id(), "type": task_type, "status": "pending",
                  "owner": owner or context.owner or "", "image_id": image_id,
                  "request_id": context.request_id, "user_id": context.user_id,
                  "runner": background.runner_id()}
        task = domain.Task.from_record(self.db.task_create(values, task_input))
        notifier.task(context, "task.create", task)
        return task

    def submit(self, task: domain.Task, run: Runner) -> None:
        """Run ``run(task)`` on the pool; an unexpected error fails the task."""
        def _guarded() -> None:
            try:
                self.begin(task.id)
                run(task)
            except Exception:  # noqa: BLE001 - a task never dies silently
                LOG.exception("Task %s failed", task.id)
                self.fail(task.id, INTERNAL_ERROR_MESSAGE)
        notifier.task(None, "task.run", task)
        background.executor().submit(_guarded)

    def begin(self, task_id: str) -> None:
        """pending -> processing."""
        domain.check_transition("pending", "processing")
        notifier.task(None, "task.processing", self.db.task_update(
            task_id, {"status": "processing", "runner": background.runner_id()},
            expected_status="pending"))

    def _finish(self, task_id: str, status: str, result: Any, message: str,
                expected_status: str | None) -> None:
        now = timeutils.utcnow()
        values = {"status": status, "updated_at": now,
                  "expires_at": domain.expiry(now, CONF.task.task_time_to_live)}
        try:
            current = expected_status or self.db.task_get_raw_status(task_id)
            domain.check_transition(current, status)
            notifier.task(None, f"task.{status}", self.db.task_update(
                task_id, values, result=result, message=message, expected_status=current))
        except exception.GlanceException as err:
            LOG.warning("Task %s not moved to %s: %s", task_id, status, err)

    def succeed(self, task_id: str, result: Any, message: str = "") -> None:
        """processing -> success, with its result; the expiry clock starts."""
        self._finish(task_id, "success", result, message, "processing")

    def fail(self, task_id: str, message: str, expected_status: str | None = None,
             result: Any = None) -> None:
        """pending/processing -> failure, with the reason; the expiry clock starts."""
        self._finish(task_id, "failure", result, message, expected_status)

    def set_image(self, task_id: str, image_id: str) -> None:
        """Record the image a task made."""
        self.db.task_update(task_id, {"image_id": image_id})

    def for_image(self, context, image_id: str) -> builtins.list[domain.Task]:
        """Tasks about an image (the caller's access to the image is checked by the caller)."""
        return [domain.Task.from_record(r) for r in self.db.tasks_for_image(context, image_id)]

    def recover_interrupted(self, on_failed: CleanUp | None = None) -> builtins.list[str]:
        """Fail the tasks a dead process of this host left unfinished; returns their ids."""
        failed = []
        for record in self.db.tasks_by_status(task_api.ACTIVE_STATUSES):
            if background.runner_alive(record.get("runner")):
                continue
            # Clean up first: whoever sees the task failed (another worker may answer
            # meanwhile) also sees its image reset and its staged data gone.
            if on_failed is not None:
                try:
                    on_failed(record)
                except Exception:  # noqa: BLE001 - recovery goes on
                    LOG.exception("Cleaning up after interrupted task %s failed",
                                  record["id"])
            try:
                self.fail(record["id"], INTERRUPTED_MESSAGE, expected_status=record["status"])
            except exception.Conflict:  # another worker of this host got there first
                continue
            failed.append(record["id"])
        if failed:
            LOG.warning("Failed %d task(s) interrupted by a stopped process: %s",
                        len(failed), ", ".join(failed))
        return failed

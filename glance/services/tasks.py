"""Task use cases: create, show, list; the background executor; start-up recovery.

Tasks run on a bounded thread pool per API process (``[taskflow_executor]
max_workers``). Each task row records which process runs it (``runner``), so
that a process starting up can fail the tasks a dead process left
``pending``/``processing`` — and leave alone those a live sibling is running.
"""

import builtins
import os
import socket
import threading
from collections.abc import Callable
from concurrent import futures
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import timeutils

from glance import exception, notifier, policy
from glance.context import RequestContext
from glance.db.sqlalchemy import task_api
from glance.domain import task as domain

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

INTERRUPTED_MESSAGE = ("The glance-api process running this task stopped before the "
                       "task finished; the task was failed when the API started again.")
INTERNAL_ERROR_MESSAGE = "Task failed due to Internal Error"

# -- the executor ------------------------------------------------------------------------

_executor: futures.ThreadPoolExecutor | None = None
_executor_pid: int | None = None
_executor_lock = threading.Lock()


def _process_start_time(pid: int) -> str:
    """The kernel's start time of ``pid`` (tells a reused pid apart), or ''."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        return ""


def runner_id() -> str:
    """``host:pid:start`` of this process."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_process_start_time(pid)}"


def runner_alive(runner: str | None) -> bool:
    """Whether the process a task row names may still be running it.

    Processes of other hosts are assumed alive (their own start-up recovers them),
    and so is the runner of a task that names none: OpenStack Glance, serving the
    same database during a rolling switch, records no runner.
    """
    if not runner:
        return True
    host, _, rest = runner.partition(":")
    pid_text, _, started = rest.partition(":")
    if host != socket.gethostname():
        return True
    try:
        pid = int(pid_text)
        os.kill(pid, 0)
    except ValueError:
        return False
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not started or _process_start_time(pid) == started


def executor() -> futures.ThreadPoolExecutor:
    """This process's task pool (a new one after a fork)."""
    global _executor, _executor_pid
    with _executor_lock:
        if _executor is None or _executor_pid != os.getpid():
            _executor = futures.ThreadPoolExecutor(
                max_workers=CONF.taskflow_executor.max_workers, thread_name_prefix="task")
            _executor_pid = os.getpid()
        return _executor


def task_context(task: domain.Task) -> RequestContext:
    """The context background work runs with: the task's project, administrator rights."""
    return RequestContext(is_admin=True, roles=["admin", "member", "reader"],
                          project_id=task.owner or None, user_id=task.user_id,
                          request_id=task.request_id, overwrite=False)


# -- the service -------------------------------------------------------------------------

Runner = Callable[[domain.Task], Any]


class TaskService:
    """Task operations, with policy and status rules applied."""

    def __init__(self, db=task_api, enforcer=policy) -> None:
        self.db = db
        self.policy = enforcer

    def _authorize(self, context) -> None:
        """``tasks_api_access``, the one rule of the tasks API, with an empty target
        (as in Glance since Xena: get_task, get_tasks and add_task are registered
        but not checked; the database shows a project its own tasks only)."""
        self.policy.authorize(context, "tasks_api_access", {})

    # -- API calls ----------------------------------------------------------------------

    def create(self, context, task_type: str, task_input: Any) -> domain.Task:
        """Create a task from the tasks API and start it."""
        self._authorize(context)
        if task_type == "import":
            task_input = domain.validate_import_input(task_input)
            from glance.services import image_import  # noqa: PLC0415 - it imports us
            image_import.check_task_import_url(task_input["import_from"])
            run: Runner | None = image_import.ImportService(tasks=self).run_legacy_import
        else:
            run = None
        task = self.new_task(context, task_type, task_input or {})
        if run is None:
            self.fail(task.id, f"Task of type {task_type} can only be created by the "
                               "image import API.", expected_status="pending")
        else:
            self.submit(task, run)
        return task

    def get(self, context, task_id: str) -> domain.Task:
        """A task the caller may see (expired tasks are not found)."""
        self._authorize(context)
        return domain.Task.from_record(self.db.task_get(context, task_id))

    def list(self, context, query: task_api.TaskQuery) -> list[domain.Task]:
        """One page of the caller's visible tasks."""
        self._authorize(context)
        return [domain.Task.from_record(r) for r in self.db.task_get_all(context, query)]

    def for_image(self, context, image_id: str) -> builtins.list[domain.Task]:
        """Tasks about an image (the caller's access to the image is checked by the caller)."""
        return [domain.Task.from_record(r) for r in self.db.tasks_for_image(context, image_id)]

    # -- life cycle ---------------------------------------------------------------------

    def new_task(self, context, task_type: str, task_input: dict[str, Any],
                 image_id: str | None = None, owner: str | None = None) -> domain.Task:
        """Insert a pending task run by this process."""
        values = {"id": domain.new_task_id(), "type": task_type, "status": "pending",
                  "owner": owner or context.owner or "", "image_id": image_id,
                  "request_id": context.request_id, "user_id": context.user_id,
                  "runner": runner_id()}
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
        executor().submit(_guarded)

    def begin(self, task_id: str) -> None:
        """pending -> processing."""
        domain.check_transition("pending", "processing")
        notifier.task(None, "task.processing", self.db.task_update(
            task_id, {"status": "processing", "runner": runner_id()},
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

    def recover_interrupted(self, on_failed: Callable[[dict[str, Any]], None] | None = None
                            ) -> builtins.list[str]:
        """Fail the tasks a dead process of this host left unfinished; returns their ids."""
        failed = []
        for record in self.db.tasks_by_status(task_api.ACTIVE_STATUSES):
            if runner_alive(record.get("runner")):
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

"""Background work of an API process: the task pool, who runs a task, and the
context a task runs with.

Tasks run on a bounded thread pool per API process (``[taskflow_executor]
max_workers``). Each task row records which process runs it (its runner id,
``host:pid:start``), so that a process starting up can fail the tasks a dead
process left unfinished — and leave alone those a live sibling is running.
"""

import os
import socket
import threading
from concurrent import futures

from oslo_config import cfg

from glance.context import RequestContext
from glance.domain import task as domain

CONF = cfg.CONF

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
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return not started or _process_start_time(pid) == started


def executor() -> futures.ThreadPoolExecutor:
    """This process's task pool (a new one after a fork).

    Process-wide on purpose: one pool bounds the background work of the whole
    process, whichever service submits it.
    """
    global _executor, _executor_pid  # noqa: PLW0603 - process-wide on purpose, see above
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

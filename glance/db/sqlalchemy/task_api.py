"""Task repository: tasks and their task_info, with owner scoping and expiry.

A task whose ``expires_at`` has passed is never returned: every read filters it
out in SQL, and the reads that find expired live rows soft-delete them
(``deleted``, ``deleted_at``) at once, for every project. Functions return
plain dicts and raise glance.exception domain errors only.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from oslo_serialization import jsonutils
from oslo_utils import timeutils

from glance import exception
from glance.db import queries
from glance.db.sqlalchemy import engine, paging
from glance.db.sqlalchemy.models import Task, TaskInfo

TASK_COLUMNS = ("id", "type", "status", "owner", "expires_at", "image_id", "request_id",
                "user_id", "created_at", "updated_at", "deleted", "deleted_at")
INFO_COLUMNS = ("input", "result", "message")
SORT_KEYS = queries.TASK_SORT_KEYS
TaskFilter = queries.TaskFilter
TaskQuery = queries.TaskQuery
ACTIVE_STATUSES = ("pending", "processing")

_writer = engine.writer_session
_reader = engine.reader_session


# -- conditions --------------------------------------------------------------------------

def _live(now: datetime) -> list[sa.ColumnElement]:
    """Not deleted and not expired."""
    return [Task.deleted.is_(False),
            sa.or_(Task.expires_at.is_(None), Task.expires_at > now)]


def _visible(context) -> sa.ColumnElement:
    """Administrators see every project's tasks; others their own project's."""
    if context.is_admin:
        return sa.true()
    return Task.owner == context.owner


def _dump(value: Any) -> str | None:
    return None if value is None else jsonutils.dumps(value)


def _load(text: str | None) -> Any:
    return None if text is None else jsonutils.loads(text)


def _task_dict(row: Any, info: Any | None = None) -> dict[str, Any]:
    task = {name: getattr(row, name) for name in TASK_COLUMNS}
    if info is not None:
        task["input"] = _load(info.input) or {}
        task["result"] = _load(info.result)
        task["message"] = info.message or ""
    return task


# -- expiry ------------------------------------------------------------------------------

@engine.retry_on_deadlock
def soft_delete_expired(now: datetime | None = None) -> int:
    """Mark every live task whose ``expires_at`` has passed deleted; returns how many.

    A cheap indexed read first, so that reads take the write lock only when
    there is something to mark.
    """
    now = now or timeutils.utcnow()
    expired = sa.and_(Task.deleted.is_(False), Task.expires_at.is_not(None),
                      Task.expires_at <= now)
    with _reader() as session:
        if session.execute(sa.select(Task.id).where(expired).limit(1)).first() is None:
            return 0
    with _writer() as session:
        result = session.execute(sa.update(Task).where(expired)
                                 .values(deleted=True, deleted_at=now))
        return result.rowcount


# -- reads -------------------------------------------------------------------------------

def task_get(context, task_id: str) -> dict[str, Any]:
    """A live, unexpired task the caller may see, with input/result/message."""
    now = timeutils.utcnow()
    soft_delete_expired(now)
    with _reader() as session:
        row = session.execute(
            sa.select(Task, TaskInfo).outerjoin(TaskInfo, TaskInfo.task_id == Task.id)
            .where(Task.id == task_id, _visible(context), *_live(now))).first()
        if row is None:
            raise exception.TaskNotFound(task_id=task_id)
        return _task_dict(row[0], row[1])


def task_get_all(context, query: TaskQuery) -> list[dict[str, Any]]:
    """One page of live, unexpired tasks the caller may see (no input/result)."""
    now = timeutils.utcnow()
    soft_delete_expired(now)
    with _reader() as session:
        conditions = [_visible(context), *_live(now)]
        conditions += [getattr(Task, flt.column) == flt.value for flt in query.filters]
        marker_row = None
        if query.marker is not None:
            marker_row = session.execute(sa.select(Task).where(
                Task.id == query.marker, _visible(context), *_live(now))).scalar_one_or_none()
            if marker_row is None:
                raise exception.TaskMarkerNotFound(marker=query.marker)
        orm_query = paging.paginate(session.query(Task).filter(*conditions), Task,
                                    query.limit, query.sort, marker_row)
        return [_task_dict(row) for row in orm_query.all()]


def tasks_for_image(context, image_id: str) -> list[dict[str, Any]]:
    """Live tasks about an image, oldest first, with input/result/message."""
    now = timeutils.utcnow()
    soft_delete_expired(now)
    with _reader() as session:
        rows = session.execute(
            sa.select(Task, TaskInfo).outerjoin(TaskInfo, TaskInfo.task_id == Task.id)
            .where(Task.image_id == image_id, _visible(context), *_live(now))
            .order_by(Task.created_at, Task.id)).all()
        return [_task_dict(task, info) for task, info in rows]


def tasks_by_status(statuses: Iterable[str]) -> list[dict[str, Any]]:
    """Live tasks in ``statuses`` with their runner (start-up recovery)."""
    with _reader() as session:
        rows = session.execute(sa.select(Task).where(
            Task.deleted.is_(False), Task.status.in_(list(statuses)))).scalars()
        return [{**_task_dict(row), "runner": row.runner} for row in rows]


def task_get_raw_status(task_id: str) -> str:
    """The status of a live task, whoever owns it (for the task's own runner)."""
    with _reader() as session:
        status = session.execute(sa.select(Task.status).where(
            Task.id == task_id, Task.deleted.is_(False))).scalar_one_or_none()
        if status is None:
            raise exception.TaskNotFound(task_id=task_id)
        return status


# -- writes ------------------------------------------------------------------------------

@engine.retry_on_deadlock
def task_create(values: dict[str, Any], task_input: dict[str, Any]) -> dict[str, Any]:
    """Insert a task and its info row in one transaction."""
    with _writer() as session:
        now = timeutils.utcnow()
        row = Task(created_at=now, updated_at=now, deleted=False, **values)
        info = TaskInfo(task_id=values["id"], input=_dump(task_input), result=None,
                        message="")
        session.add(row)
        session.flush()
        session.add(info)
        session.flush()
        return _task_dict(row, info)


@engine.retry_on_deadlock
def task_update(task_id: str, values: dict[str, Any], *, result: Any = ...,
                message: str | None = None,
                expected_status: str | None = None) -> dict[str, Any]:
    """Change a task; conditional on ``expected_status`` (a compare-and-set).

    ``updated_at`` is now unless ``values`` sets it.
    """
    with _writer() as session:
        row = session.execute(sa.select(Task).where(
            Task.id == task_id, Task.deleted.is_(False))).scalar_one_or_none()
        if row is None:
            raise exception.TaskNotFound(task_id=task_id)
        if expected_status is not None and row.status != expected_status:
            raise exception.Conflict(
                f"Task {task_id} is {row.status}, not {expected_status}.")
        row.updated_at = timeutils.utcnow()
        for name, value in values.items():
            setattr(row, name, value)
        info = session.get(TaskInfo, task_id)
        if info is None:
            info = TaskInfo(task_id=task_id, message="")
            session.add(info)
        if result is not ...:
            info.result = _dump(result)
        if message is not None:
            info.message = message
        session.flush()
        return _task_dict(row, info)

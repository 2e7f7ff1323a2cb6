"""The scrubber's SQL: find, claim and retire ``pending_delete`` locations; restore.

The database shape is Glance's, so rows written by OpenStack Glance nodes and by
ours are handled alike. A deleted image kept for the scrubber has
``status = 'pending_delete'``, ``deleted = true`` and ``deleted_at`` set; each
location whose data is still in a store has ``status = 'pending_delete'``. Once
the data is gone the location becomes ``status = 'deleted'``, ``deleted = true``
and, when no pending location is left, the image ``status = 'deleted'``.

Claims are row locks: :func:`claim` locks one location row
(``SELECT ... FOR UPDATE SKIP LOCKED``) for as long as its data is being removed,
and records the removal in that same transaction. Another scrubber skips a
locked row; a scrubber that dies (even ``kill -9``) loses its connection, so
the database rolls its transaction back and releases the lock at once: the
location is still ``pending_delete`` and the next run removes it (data already
gone counts as removed). SQLite has no row locks: there the writer's
``BEGIN IMMEDIATE`` makes claims take turns, which gives the same guarantees.
"""

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from oslo_utils import timeutils

from glance import exception
from glance.db.sqlalchemy import engine
from glance.db.sqlalchemy.models import (
    Image,
    ImageLocation,
    ImageMember,
    ImageProperty,
    ImageTag,
)

ACTIVE, PENDING, DELETED = "active", "pending_delete", "deleted"
PAGE_SIZE = 1000
# Rows a delete soft-deleted together: our delete stamps them all with the image's
# deleted_at; Glance's takes a few statements (and MySQL DATETIME keeps seconds).
RESTORE_WINDOW = datetime.timedelta(seconds=5)

_retry_on_deadlock = engine.retry_on_deadlock


@dataclass(frozen=True)
class Job:
    """One location whose data the scrubber should remove."""

    location_id: int
    image_id: str
    url: str
    metadata: dict[str, Any]
    shared: bool = False  # another live location points at the same data

    @property
    def location(self) -> dict[str, Any]:
        """The location as the store adapter takes it."""
        return {"id": self.location_id, "url": self.url, "metadata": self.metadata}


@dataclass
class Claim:
    """A locked location; set ``removed`` once its data is gone to retire it."""

    job: Job
    removed: bool = False


# -- what is due -------------------------------------------------------------------------

def _image_due(cutoff: datetime.datetime) -> sa.ColumnElement[bool]:
    """The image was deleted at or before ``cutoff``."""
    return sa.and_(Image.deleted.is_(True), Image.deleted_at <= cutoff)


def _due(cutoff: datetime.datetime) -> sa.ColumnElement[bool]:
    """A ``pending_delete`` location whose data may be removed now: its image was
    deleted at or before ``cutoff``, or it was removed (PATCH) from an image that
    lives on at or before ``cutoff``.

    The second case only covers rows still ``deleted = false``, the shape our API
    writes: Glance marks such rows deleted, like the rows its ``--restore`` leaves
    behind, which the scrubber never touches. EXISTS rather than a join, so that a
    claim locks the location row only, never the image row.
    """
    image_due = sa.exists().where(Image.id == ImageLocation.image_id, _image_due(cutoff))
    image_live = sa.exists().where(Image.id == ImageLocation.image_id,
                                   Image.deleted.is_(False))
    removed_at = sa.func.coalesce(ImageLocation.deleted_at, ImageLocation.updated_at,
                                  ImageLocation.created_at)
    removed_from_live = sa.and_(ImageLocation.deleted.is_(False), removed_at <= cutoff,
                                image_live)
    return sa.and_(ImageLocation.status == PENDING, sa.or_(image_due, removed_from_live))


_JOB_COLUMNS = (ImageLocation.id, ImageLocation.image_id, ImageLocation.value,
                ImageLocation.location_metadata)


def _in_use(urls: list[str]) -> set[str]:
    """Those of ``urls`` that an active location (of any image) still points at."""
    if not urls:
        return set()
    with engine.reader_session() as session:
        return set(session.execute(
            sa.select(ImageLocation.value).where(
                ImageLocation.value.in_(urls), ImageLocation.status == ACTIVE,
                ImageLocation.deleted.is_(False))).scalars())


def due_jobs(cutoff: datetime.datetime, page_size: int = PAGE_SIZE) -> list[Job]:
    """Every location whose data is due for removal, by location id."""
    jobs: list[Job] = []
    marker = 0
    while True:
        with engine.reader_session() as session:
            rows = session.execute(
                sa.select(*_JOB_COLUMNS).where(_due(cutoff), ImageLocation.id > marker)
                .order_by(ImageLocation.id).limit(page_size)).all()
        if not rows:
            return jobs
        shared = _in_use([row.value for row in rows])
        jobs += [Job(row.id, row.image_id, row.value, dict(row.location_metadata or {}),
                     row.value in shared) for row in rows]
        marker = rows[-1].id


# -- claim and retire --------------------------------------------------------------------

@contextmanager
def claim(job: Job, cutoff: datetime.datetime) -> Iterator[Claim | None]:
    """Lock ``job``'s location while the caller removes its data.

    Yields None when the location is not due any more (done, restored) or another
    scrubber holds it. When the block sets ``claim.removed``, the location is
    retired (``deleted``) in the same transaction; an exception rolls everything
    back and leaves it ``pending_delete``.
    """
    with engine.writer_session() as session:
        row = session.execute(
            sa.select(*_JOB_COLUMNS)
            .where(ImageLocation.id == job.location_id, _due(cutoff))
            .with_for_update(skip_locked=True)).first()
        if row is None:
            yield None
            return
        current = Claim(Job(row.id, row.image_id, row.value,
                            dict(row.location_metadata or {}), job.shared))
        yield current
        if current.removed:
            now = timeutils.utcnow()
            session.execute(sa.update(ImageLocation).where(ImageLocation.id == row.id)
                            .values(status=DELETED, deleted=True, deleted_at=now,
                                    updated_at=now))


@_retry_on_deadlock
def finish_image(image_id: str, cutoff: datetime.datetime) -> bool:
    """``pending_delete`` -> ``deleted`` once no location of the image is pending.

    The check runs after the caller's own claims committed, so of several scrubbers
    sharing an image's locations the last to finish always sees them all retired.
    A restore in between makes the image ``active`` and the update a no-op.
    """
    with engine.writer_session() as session:
        pending = session.execute(
            sa.select(sa.func.count()).select_from(ImageLocation)
            .where(ImageLocation.image_id == image_id, ImageLocation.status == PENDING)
        ).scalar_one()
        if pending:
            return False
        result = session.execute(
            sa.update(Image).where(Image.id == image_id, Image.status == PENDING,
                                   _image_due(cutoff))
            .values(status=DELETED, updated_at=timeutils.utcnow()))
        return result.rowcount == 1


def unfinished_images(cutoff: datetime.datetime) -> list[str]:
    """Due ``pending_delete`` images with no pending location left (e.g. after a
    crash between the last location and the image)."""
    pending = sa.exists().where(ImageLocation.image_id == Image.id,
                                ImageLocation.status == PENDING)
    with engine.reader_session() as session:
        return list(session.execute(
            sa.select(Image.id).where(Image.status == PENDING, _image_due(cutoff),
                                      ~pending).order_by(Image.id)).scalars())


# -- restore -----------------------------------------------------------------------------

def _window(column, deleted_at: datetime.datetime | None) -> sa.ColumnElement[bool]:
    if deleted_at is None:
        return sa.true()
    return column.between(deleted_at - RESTORE_WINDOW, deleted_at + RESTORE_WINDOW)


@_retry_on_deadlock
def restore(image_id: str) -> int:
    """Put a ``pending_delete`` image back to ``active``; returns its location count.

    Brings back the locations whose data is still there and the properties, tags
    and members the delete removed. Waits for a scrubber removing one of its
    locations right now (that location is then gone for good).
    """
    with engine.writer_session() as session:
        image = session.execute(
            sa.select(Image.status, Image.deleted_at).where(Image.id == image_id)
            .with_for_update()).first()
        if image is None:
            raise exception.ImageNotFound(image_id=image_id)
        if image.status != PENDING:
            raise exception.NotRestorable(image_id=image_id, status=image.status)
        locations = list(session.execute(
            sa.select(ImageLocation.id).where(
                ImageLocation.image_id == image_id, ImageLocation.status == PENDING,
                ImageLocation.deleted.is_(True),
                _window(ImageLocation.deleted_at, image.deleted_at))
            .with_for_update()).scalars())
        if not locations:
            raise exception.NothingToRestore(image_id=image_id)
        now = timeutils.utcnow()
        session.execute(sa.update(ImageLocation).where(ImageLocation.id.in_(locations))
                        .values(status=ACTIVE, deleted=False, deleted_at=None,
                                updated_at=now))
        for model in (ImageProperty, ImageTag, ImageMember):
            session.execute(sa.update(model).where(
                model.image_id == image_id, model.deleted.is_(True),
                _window(model.deleted_at, image.deleted_at))
                .values(deleted=False, deleted_at=None, updated_at=now))
        session.execute(sa.update(Image).where(Image.id == image_id)
                        .values(status=ACTIVE, deleted=False, deleted_at=None,
                                updated_at=now))
        return len(locations)

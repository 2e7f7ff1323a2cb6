"""Image member repository: the rows that share an image with another project.

The caller's right to see the image, and the policy checks, happen in
glance.services.members; these functions only store rows. A removed member row
is deleted for real (the unique (image_id, member) key would otherwise forbid
sharing the image with that project again). ``glance.db.sqlalchemy.api``
re-exports the public functions, so the image repository module offers them too.
"""

from typing import Any

import sqlalchemy as sa
from oslo_db import exception as db_exc
from oslo_utils import timeutils

from glance import exception
from glance.db.sqlalchemy import engine
from glance.db.sqlalchemy.models import ImageMember

_writer = engine.writer_session
_reader = engine.reader_session
_retry_on_deadlock = engine.retry_on_deadlock

MEMBER_COLUMNS = ("image_id", "member", "can_share", "status", "created_at", "updated_at",
                  "scope")
SUBTREE, DOMAIN = "subtree", "domain"


def covers(project, lineage=None) -> sa.ColumnElement:
    """The member rows that give ``project`` (a value or a bind parameter) access:
    its own entry and, given its ``lineage`` (glance.hierarchy.Lineage), the
    subtree entries of it or an ancestor and the domain entry of its domain."""
    direct = ImageMember.member == project
    if lineage is None:
        return direct
    wide = [direct, sa.and_(ImageMember.scope == SUBTREE,
                            ImageMember.member.in_([lineage.project_id,
                                                    *lineage.ancestors]))]
    if lineage.domain_id:
        wide.append(sa.and_(ImageMember.scope == DOMAIN,
                            ImageMember.member == lineage.domain_id))
    return sa.or_(*wide)


def _member_dict(row: ImageMember) -> dict[str, Any]:
    return {name: getattr(row, name) for name in MEMBER_COLUMNS}


def _member_query(image_id: str, member: str | None = None):
    query = sa.select(ImageMember).where(ImageMember.image_id == image_id,
                                         ImageMember.deleted.is_(False))
    if member is not None:
        query = query.where(ImageMember.member == member)
    return query


def _member_not_found(image_id: str, member: str) -> exception.NotFound:
    return exception.NotFound(
        f"{member} not found in the member list of the image {image_id}.")


@_retry_on_deadlock
def image_member_create(image_id: str, member: str, quota: int,
                        scope: str | None = None) -> dict[str, Any]:
    """Share ``image_id`` with ``member`` (status pending), or with the subtree or
    domain ``member`` names when ``scope`` says so (status accepted: one entry
    stands for many projects, none of which could accept for the others).

    Raises Duplicate when already shared, LimitExceeded past ``quota`` members
    (a negative quota means no limit).
    """
    try:
        with _writer() as session:
            existing = list(session.execute(
                sa.select(ImageMember.member).where(ImageMember.image_id == image_id,
                                                    ImageMember.deleted.is_(False))
            ).scalars())
            if member in existing:
                raise exception.Duplicate(
                    f"Member {member} is duplicated for image {image_id}")
            if 0 <= quota < len(existing) + 1:
                raise exception.LimitExceeded(what="image members",
                                              attempted=len(existing) + 1, maximum=quota)
            # A soft-deleted row (left by an old image delete) would block the insert.
            session.execute(sa.delete(ImageMember).where(
                ImageMember.image_id == image_id, ImageMember.member == member))
            now = timeutils.utcnow()
            row = ImageMember(image_id=image_id, member=member,
                              status="accepted" if scope else "pending", scope=scope,
                              can_share=False, created_at=now, updated_at=now)
            session.add(row)
            session.flush()
            return _member_dict(row)
    except db_exc.DBDuplicateEntry as err:
        raise exception.Duplicate(
            f"Member {member} is duplicated for image {image_id}") from err


def image_member_find(image_id: str, member: str | None = None) -> list[dict[str, Any]]:
    """The image's members, oldest first; only ``member``'s row when given."""
    with _reader() as session:
        rows = session.execute(
            _member_query(image_id, member).order_by(ImageMember.created_at,
                                                     ImageMember.id)).scalars()
        return [_member_dict(row) for row in rows]


def image_member_find_covering(image_id: str, project: str,
                               lineage=None) -> list[dict[str, Any]]:
    """The image's member entries that give ``project`` access (see :func:`covers`)."""
    with _reader() as session:
        rows = session.execute(
            sa.select(ImageMember).where(ImageMember.image_id == image_id,
                                         ImageMember.deleted.is_(False),
                                         covers(project, lineage))
            .order_by(ImageMember.created_at, ImageMember.id)).scalars()
        return [_member_dict(row) for row in rows]


def image_member_get(image_id: str, member: str) -> dict[str, Any]:
    """One membership; NotFound when the image is not shared with ``member``."""
    found = image_member_find(image_id, member)
    if not found:
        raise _member_not_found(image_id, member)
    return found[0]


@_retry_on_deadlock
def image_member_update(image_id: str, member: str, status: str) -> dict[str, Any]:
    """Set a membership's status; NotFound when there is none."""
    with _writer() as session:
        row = session.execute(_member_query(image_id, member)).scalar_one_or_none()
        if row is None:
            raise _member_not_found(image_id, member)
        row.status = status
        row.updated_at = timeutils.utcnow()
        session.flush()
        return _member_dict(row)


@_retry_on_deadlock
def image_member_delete(image_id: str, member: str) -> None:
    """Remove a membership (the row itself); NotFound when there is none."""
    with _writer() as session:
        result = session.execute(sa.delete(ImageMember).where(
            ImageMember.image_id == image_id, ImageMember.member == member,
            ImageMember.deleted.is_(False)))
        if result.rowcount == 0:
            raise _member_not_found(image_id, member)

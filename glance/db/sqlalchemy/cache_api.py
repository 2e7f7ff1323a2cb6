"""The ``centralized_db`` image cache's SQL: which node caches which image.

Glance's tables (migration 0006): ``node_reference`` has one row per node that
caches images, keyed by its ``worker_self_reference_url``; ``cached_images`` one
row per image cached on a node (size, hits, access times, md5). Rows written by
OpenStack Glance nodes and by ours are read alike; times are naive UTC.
"""

import datetime
from typing import Any

import sqlalchemy as sa
from oslo_db import exception as db_exc
from oslo_utils import timeutils

from glance.db.sqlalchemy import engine
from glance.db.sqlalchemy.models import CachedImage, NodeReference


def _row(row: CachedImage) -> dict[str, Any]:
    return {"id": row.id, "image_id": row.image_id, "size": row.size, "hits": row.hits,
            "checksum": row.checksum, "last_accessed": _epoch(row.last_accessed),
            "last_modified": _epoch(row.last_modified)}


def _epoch(value: datetime.datetime) -> float:
    return value.replace(tzinfo=datetime.UTC).timestamp()


@engine.retry_on_deadlock
def node_reference_id(url: str) -> int:
    """The id of the node ``url``, created when new (safe when nodes race)."""
    query = sa.select(NodeReference.node_reference_id).where(
        NodeReference.node_reference_url == url)
    with engine.reader_session() as session:
        found = session.execute(query).scalar()
    if found is not None:
        return found
    try:
        with engine.writer_session() as session:
            session.add(NodeReference(node_reference_url=url))
    except (sa.exc.IntegrityError, db_exc.DBDuplicateEntry):
        pass  # another worker recorded it first
    with engine.reader_session() as session:
        return session.execute(query).scalar_one()


@engine.retry_on_deadlock
def add(node_id: int, image_id: str, size: int, checksum: str | None) -> None:
    """Record (or re-record) ``image_id`` as cached on the node."""
    now = timeutils.utcnow()
    with engine.writer_session() as session:
        session.execute(sa.delete(CachedImage).where(
            CachedImage.node_reference_id == node_id, CachedImage.image_id == image_id))
        session.add(CachedImage(image_id=image_id, node_reference_id=node_id, size=size,
                                checksum=checksum, hits=0, last_accessed=now,
                                last_modified=now))


@engine.retry_on_deadlock
def hit(node_id: int, image_id: str) -> None:
    """Count one download served from the node's cache."""
    with engine.writer_session() as session:
        session.execute(sa.update(CachedImage).where(
            CachedImage.node_reference_id == node_id, CachedImage.image_id == image_id)
            .values(hits=CachedImage.hits + 1, last_accessed=timeutils.utcnow()))


@engine.retry_on_deadlock
def remove(node_id: int, image_ids: list[str] | None) -> list[str]:
    """Forget ``image_ids`` on the node (all when None); the ids that had a row."""
    where = [CachedImage.node_reference_id == node_id]
    if image_ids is not None:
        where.append(CachedImage.image_id.in_(image_ids))
    with engine.writer_session() as session:
        found = list(session.execute(sa.select(CachedImage.image_id).where(*where))
                     .scalars())
        if found:
            session.execute(sa.delete(CachedImage).where(*where))
    return found


def rows(node_id: int, image_id: str | None = None) -> list[dict[str, Any]]:
    """The node's rows (one image's, or all), least recently used first."""
    query = sa.select(CachedImage).where(CachedImage.node_reference_id == node_id)
    if image_id is not None:
        query = query.where(CachedImage.image_id == image_id)
    query = query.order_by(CachedImage.last_accessed, CachedImage.image_id)
    with engine.reader_session() as session:
        return [_row(r) for r in session.execute(query).scalars()]


def total_size(node_id: int) -> int:
    """Bytes the node caches."""
    with engine.reader_session() as session:
        return int(session.execute(sa.select(sa.func.coalesce(sa.func.sum(
            CachedImage.size), 0)).where(CachedImage.node_reference_id == node_id)).scalar())


def nodes_caching(image_id: str) -> list[str]:
    """The URLs of the nodes that cache ``image_id`` (in the order they were added)."""
    query = (sa.select(NodeReference.node_reference_url)
             .join(CachedImage,
                   CachedImage.node_reference_id == NodeReference.node_reference_id)
             .where(CachedImage.image_id == image_id).order_by(CachedImage.id))
    with engine.reader_session() as session:
        return list(session.execute(query).scalars())

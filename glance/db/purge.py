"""Hard-delete soft-deleted rows (``glance-manage db purge`` / ``purge_images_table``).

Tables are discovered from the live schema, not listed by hand: every table
with ``deleted`` and ``deleted_at`` columns takes part, so tables added by later
migrations (tasks, ...) are purged without changes here. Child rows that point
at a purged row through a foreign key go first, in the same transaction.

``images`` is left to ``purge_images_table``, which records every id it removes
in ``purged_image_ids`` so that the id is never handed out again (OSSN-0075).
"""

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from oslo_utils import timeutils

IMAGES = "images"
TOMBSTONES = "purged_image_ids"
NO_LIMIT = -1


def _soft_deleted_tables(metadata: sa.MetaData) -> list[sa.Table]:
    """Tables with soft-delete columns, children before parents."""
    return [table for table in reversed(metadata.sorted_tables)
            if {"deleted", "deleted_at"} <= set(table.c.keys())]


def _children(metadata: sa.MetaData, parent: sa.Table) -> list[tuple[sa.Table, sa.Column,
                                                                      sa.Column]]:
    """(child table, child column, parent column) for each foreign key into ``parent``."""
    links = []
    for table in metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table is parent and table is not parent:
                links.append((table, fk.parent, fk.column))
    return links


def _purge_rows(connection: sa.Connection, metadata: sa.MetaData, table: sa.Table,
                cutoff, max_rows: int) -> tuple[int, list]:
    """Delete up to ``max_rows`` rows deleted before ``cutoff``; returns (count, keys)."""
    key = list(table.primary_key.columns)
    if len(key) != 1:
        raise RuntimeError(f"Cannot purge {table.name}: it needs a one-column primary key.")
    query = (sa.select(key[0]).where(table.c.deleted.is_(True), table.c.deleted_at < cutoff)
             .order_by(table.c.deleted_at, key[0]))
    if max_rows != NO_LIMIT:
        query = query.limit(max_rows)
    ids = list(connection.execute(query).scalars())
    total = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for child, child_col, parent_col in _children(metadata, table):
            values = (chunk if parent_col is key[0] else
                      list(connection.execute(sa.select(parent_col).where(
                          key[0].in_(chunk))).scalars()))
            connection.execute(sa.delete(child).where(child_col.in_(values)))
        total += connection.execute(sa.delete(table).where(key[0].in_(chunk))).rowcount
    return total, ids


def _reflect(connection: sa.Connection) -> sa.MetaData:
    metadata = sa.MetaData()
    metadata.reflect(connection)
    return metadata


def purge(engine: sa.Engine, age_in_days: int, max_rows: int,
          exclude: Sequence[str] = (IMAGES,)) -> dict[str, int]:
    """Purge every soft-deleted table but ``images``; returns rows removed per table."""
    cutoff = timeutils.utcnow() - timedelta(days=age_in_days)
    removed: dict[str, int] = {}
    with engine.begin() as connection:
        metadata = _reflect(connection)
        for table in _soft_deleted_tables(metadata):
            if table.name in exclude:
                continue
            removed[table.name], _ = _purge_rows(connection, metadata, table, cutoff, max_rows)
    return removed


def purge_images(engine: sa.Engine, age_in_days: int, max_rows: int) -> int:
    """Purge soft-deleted image rows (and their children); tombstone every purged id."""
    cutoff = timeutils.utcnow() - timedelta(days=age_in_days)
    with engine.begin() as connection:
        metadata = _reflect(connection)
        if TOMBSTONES not in metadata.tables:
            raise RuntimeError("The database has no purged_image_ids table; "
                               "run `glance-manage db expand` first.")
        images, tombstones = metadata.tables[IMAGES], metadata.tables[TOMBSTONES]
        key = images.c.id
        query = (sa.select(key).where(images.c.deleted.is_(True),
                                      images.c.deleted_at < cutoff)
                 .order_by(images.c.deleted_at, key))
        if max_rows != NO_LIMIT:
            query = query.limit(max_rows)
        ids = list(connection.execute(query).scalars())
        now = timeutils.utcnow()
        if ids:
            connection.execute(sa.insert(tombstones),
                               [{"id": image_id, "purged_at": now} for image_id in ids])
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for child, child_col, _ in _children(metadata, images):
                connection.execute(sa.delete(child).where(child_col.in_(chunk)))
            connection.execute(sa.delete(images).where(key.in_(chunk)))
        return len(ids)

"""Add the indexes that keep image lists O(page) at a million images.

Revision ID: 0008_expand_list_indexes
Revises: 0006_expand_cache_tables
Create Date: 2026-12-04

Expand only (indexes, and on PostgreSQL a statistics object): safe while older code
runs, and built online, without blocking readers or writers of the tables:

* ``images (deleted, visibility, created_at, id)``: a list by visibility
  (``visibility=shared``, ``public``, ...) walks its images newest first;
* ``images (deleted, visibility, owner, created_at, id)``: the same for one owner's
  images of a visibility (``visibility=private``: the caller's own);
* ``images (deleted, name, created_at, id)``: ``sort_key=name`` (and a page after a
  marker) is an index walk, not a sort of every live image;
* PostgreSQL: extended statistics on ``image_properties (name, value)``. A value
  belongs to its name (``os_distro=ubuntu``), which the planner does not know
  without them: it took a 1% property filter for a 0.01% one and read every row
  of the property instead of walking the newest images.

PostgreSQL builds each index with ``CREATE INDEX CONCURRENTLY`` (outside the
migration's transaction, in alembic's autocommit block: the revisions before this
one are committed first); an invalid index a failed earlier attempt left is
dropped and built again. MariaDB/MySQL build them with ``ALGORITHM=INPLACE,
LOCK=NONE``. SQLite has no online index build: ``CREATE INDEX`` holds the write
lock while it runs (seconds per index at a million images).
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_expand_list_indexes"
down_revision = "0006_expand_cache_tables"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_images_deleted_visibility_created_at_id": (
        "images", ("deleted", "visibility", "created_at", "id")),
    "ix_images_deleted_visibility_owner_created_at_id": (
        "images", ("deleted", "visibility", "owner", "created_at", "id")),
    "ix_images_deleted_name_created_at_id": (
        "images", ("deleted", "name", "created_at", "id")),
}
PG_STATISTICS = ("CREATE STATISTICS IF NOT EXISTS st_image_properties_name_value "
                 "(mcv, dependencies) ON name, value FROM image_properties")


def _postgresql(bind: sa.Connection) -> None:
    valid: dict[str, bool] = dict(bind.exec_driver_sql(
        "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON "
        "c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema()").all())
    with op.get_context().autocommit_block():
        for name, (table, columns) in INDEXES.items():
            if valid.get(name) is False:  # left by a CONCURRENTLY build that failed
                op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
            elif name in valid:
                continue
            op.execute(f"CREATE INDEX CONCURRENTLY {name} ON {table} ({', '.join(columns)})")
        op.execute(PG_STATISTICS)
        op.execute("ANALYZE image_properties")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        _postgresql(bind)
        return
    existing = {index["name"] for table in {t for t, _ in INDEXES.values()}
                for index in sa.inspect(bind).get_indexes(table)}
    for name, (table, columns) in INDEXES.items():
        if name in existing:
            continue
        if bind.dialect.name == "mysql":
            op.execute(f"CREATE INDEX {name} ON {table} ({', '.join(columns)}) "
                       "ALGORITHM=INPLACE LOCK=NONE")
        else:
            op.create_index(name, table, list(columns))

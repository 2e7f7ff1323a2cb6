"""Add node_reference and cached_images: the shared image-cache index.

Revision ID: 0006_expand_cache_tables
Revises: 0005_expand_tasks
Create Date: 2026-12-02

Expand only (two new tables): safe while older code runs. The tables have the
shape OpenStack Glance (2024.1 and later) gives them for its ``centralized_db``
cache driver, column for column and constraint name for constraint name, so that
a fresh database and one adopted from Glance (which already has them, see
glance/db/adoption.py) converge: one row per cache node (its
``worker_self_reference_url``), one row per image cached on a node.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_expand_cache_tables"
down_revision = "0005_expand_tasks"
branch_labels = None
depends_on = None

_TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "node_reference",
        sa.Column("node_reference_id", _ID, primary_key=True, autoincrement=True),
        sa.Column("node_reference_url", sa.String(255), nullable=False),
        sa.UniqueConstraint("node_reference_url",
                            name="uq_node_reference_node_reference_url"),
        **_TABLE_OPTIONS,
    )
    op.create_table(
        "cached_images",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("image_id", sa.String(36), nullable=False),
        sa.Column("last_accessed", sa.DateTime(), nullable=False),
        sa.Column("last_modified", sa.DateTime(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("checksum", sa.String(32), nullable=True),
        sa.Column("node_reference_id", _ID,
                  sa.ForeignKey("node_reference.node_reference_id"), nullable=False),
        sa.UniqueConstraint("image_id", "node_reference_id",
                            name="ix_cached_images_image_id_node_reference_id"),
        **_TABLE_OPTIONS,
    )

"""Add purged_image_ids: tombstones of image rows removed by purge_images_table.

Revision ID: 0003_expand_purged_image_ids
Revises: 0002_metadef_tables
Create Date: 2026-11-23

Carries the ``expand`` branch label (the metadef tables revision before it is
expand too: it only adds). Expand revisions only add.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_expand_purged_image_ids"
down_revision = "0002_metadef_tables"
branch_labels = ("expand",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "purged_image_ids",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("purged_at", sa.DateTime(), nullable=False),
        mysql_engine="InnoDB", mysql_charset="utf8mb4",
    )

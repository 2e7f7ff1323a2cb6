"""Drop the single-column images indexes that revision 0008's expand supersedes.

Revision ID: 0008_contract_list_indexes
Revises: 0007_contract_glance_schema
Depends on: 0008_expand_list_indexes
Create Date: 2026-12-04

``ix_images_name`` and ``ix_images_visibility``: every query on those columns also
asks for live images (``deleted = false``), which ``(deleted, name, created_at,
id)`` and ``(deleted, visibility, created_at, id)`` serve, in order. One index less
per column is one less to update on every image write. Contract: the previous
release's plans may still use them. Dropping an index changes no data and only
takes the table's lock for the moment the catalog changes.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_contract_list_indexes"
down_revision = "0007_contract_glance_schema"
branch_labels = None
depends_on = "0008_expand_list_indexes"

SUPERSEDED = ("ix_images_name", "ix_images_visibility")


def upgrade() -> None:
    present = {index["name"] for index in sa.inspect(op.get_bind()).get_indexes("images")}
    for name in SUPERSEDED:
        if name in present:
            op.drop_index(name, table_name="images")

"""Add image_members.scope: a member entry may cover a project subtree or a domain.

Revision ID: 0009_expand_member_scope
Revises: 0008_expand_list_indexes
Create Date: 2026-12-04

Expand only: one nullable column, NULL meaning the plain per-project membership
every existing row is. Adding a nullable column without a default is an online
change on MariaDB (ALGORITHM=INSTANT) and PostgreSQL (no table rewrite); code
that does not know the column (older nodes, OpenStack Glance) never writes it,
which leaves the rows it adds plain memberships. See
doc/source/contributor/specs/hierarchical-image-access.rst.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_expand_member_scope"
down_revision = "0008_expand_list_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("image_members", sa.Column("scope", sa.String(16), nullable=True))

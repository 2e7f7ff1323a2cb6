"""Copy image_locations.meta_data (JSON text) into metadata (JSON).

Revision ID: 0004_migrate_location_metadata
Revises: 0001_initial
Depends on: 0004_expand_location_metadata
Create Date: 2026-11-23

Migrate phase of change 0004; the first revision of the ``migrate`` branch.
``glance-manage db migrate`` runs DATA_MIGRATION in batches first, then this.
"""

from alembic import op

from glance.db.sqlalchemy import data_migrations
from glance.db.sqlalchemy.data_migrations import location_metadata

revision = "0004_migrate_location_metadata"
down_revision = "0001_initial"
branch_labels = ("migrate",)
depends_on = "0004_expand_location_metadata"

DATA_MIGRATION = location_metadata


def upgrade() -> None:
    data_migrations.migrate_all(DATA_MIGRATION, op.get_bind())

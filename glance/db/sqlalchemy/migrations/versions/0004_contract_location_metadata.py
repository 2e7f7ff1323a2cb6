"""Drop image_locations.meta_data and the triggers that kept it in step.

Revision ID: 0004_contract_location_metadata
Revises: 0001_initial
Depends on: 0004_migrate_location_metadata
Create Date: 2026-11-23

Contract phase of change 0004; the first revision of the ``contract`` branch.
Run only when no node runs code older than the change. Contract revisions only
remove.
"""

from alembic import op

revision = "0004_contract_location_metadata"
down_revision = "0001_initial"
branch_labels = ("contract",)
depends_on = "0004_migrate_location_metadata"

DROP_TRIGGERS = {
    "sqlite": ["DROP TRIGGER IF EXISTS image_locations_metadata_ins",
               "DROP TRIGGER IF EXISTS image_locations_meta_data_upd",
               "DROP TRIGGER IF EXISTS image_locations_metadata_upd"],
    "mysql": ["DROP TRIGGER IF EXISTS image_locations_metadata_ins",
              "DROP TRIGGER IF EXISTS image_locations_metadata_upd"],
    "postgresql": ["DROP TRIGGER IF EXISTS image_locations_metadata_sync ON image_locations",
                   "DROP FUNCTION IF EXISTS image_locations_metadata_sync()"],
}


def upgrade() -> None:
    for statement in DROP_TRIGGERS[op.get_bind().dialect.name]:
        op.execute(statement)
    with op.batch_alter_table("image_locations") as batch:
        batch.drop_column("meta_data")

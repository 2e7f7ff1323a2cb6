"""Add image_locations.metadata (native JSON) next to meta_data (JSON text).

Revision ID: 0004_expand_location_metadata
Revises: 0003_expand_purged_image_ids
Create Date: 2026-11-23

Expand phase of change 0004. Until contract, code of the previous release
writes ``meta_data`` and new code writes ``metadata``; triggers copy whichever
side a statement sets into the other, so both releases read every row.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_expand_location_metadata"
down_revision = "0003_expand_purged_image_ids"
branch_labels = None
depends_on = None

TRIGGERS = {
    "sqlite": [
        """CREATE TRIGGER image_locations_metadata_ins AFTER INSERT ON image_locations
        WHEN NEW."metadata" IS NOT NEW.meta_data
        BEGIN
          UPDATE image_locations SET "metadata" = COALESCE(NEW."metadata", NEW.meta_data),
                                     meta_data = COALESCE(NEW.meta_data, NEW."metadata")
          WHERE id = NEW.id;
        END""",
        """CREATE TRIGGER image_locations_meta_data_upd AFTER UPDATE OF meta_data
        ON image_locations
        WHEN NEW.meta_data IS NOT OLD.meta_data AND NEW.meta_data IS NOT NEW."metadata"
        BEGIN
          UPDATE image_locations SET "metadata" = NEW.meta_data WHERE id = NEW.id;
        END""",
        """CREATE TRIGGER image_locations_metadata_upd AFTER UPDATE OF "metadata"
        ON image_locations
        WHEN NEW."metadata" IS NOT OLD."metadata" AND NEW."metadata" IS NOT NEW.meta_data
        BEGIN
          UPDATE image_locations SET meta_data = NEW."metadata" WHERE id = NEW.id;
        END""",
    ],
    "mysql": [
        """CREATE TRIGGER image_locations_metadata_ins BEFORE INSERT ON image_locations
        FOR EACH ROW BEGIN
          IF NEW.`metadata` IS NULL THEN SET NEW.`metadata` = NEW.meta_data;
          ELSEIF NEW.meta_data IS NULL THEN SET NEW.meta_data = NEW.`metadata`;
          END IF;
        END""",
        """CREATE TRIGGER image_locations_metadata_upd BEFORE UPDATE ON image_locations
        FOR EACH ROW BEGIN
          IF NOT (NEW.meta_data <=> OLD.meta_data) THEN SET NEW.`metadata` = NEW.meta_data;
          ELSEIF NOT (NEW.`metadata` <=> OLD.`metadata`) THEN
            SET NEW.meta_data = NEW.`metadata`;
          END IF;
        END""",
    ],
    "postgresql": [
        """CREATE FUNCTION image_locations_metadata_sync() RETURNS trigger AS $body$
        BEGIN
          IF TG_OP = 'INSERT' THEN
            IF NEW."metadata" IS NULL THEN
              NEW."metadata" := CAST(NEW.meta_data AS jsonb);
            ELSIF NEW.meta_data IS NULL THEN
              NEW.meta_data := CAST(NEW."metadata" AS text);
            END IF;
          ELSIF NEW.meta_data IS DISTINCT FROM OLD.meta_data THEN
            NEW."metadata" := CAST(NEW.meta_data AS jsonb);
          ELSIF NEW."metadata" IS DISTINCT FROM OLD."metadata" THEN
            NEW.meta_data := CAST(NEW."metadata" AS text);
          END IF;
          RETURN NEW;
        END
        $body$ LANGUAGE plpgsql""",
        """CREATE TRIGGER image_locations_metadata_sync BEFORE INSERT OR UPDATE
        ON image_locations FOR EACH ROW EXECUTE FUNCTION image_locations_metadata_sync()""",
    ],
}


def upgrade() -> None:
    json_type = sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True), "postgresql")
    with op.batch_alter_table("image_locations") as batch:
        batch.add_column(sa.Column("metadata", json_type, nullable=True))
    for statement in TRIGGERS[op.get_bind().dialect.name]:
        op.execute(statement)

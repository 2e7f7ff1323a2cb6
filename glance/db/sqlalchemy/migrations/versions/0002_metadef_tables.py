"""Expand: the metadata definitions catalog tables, seeded with the standard
resource types (so that the catalog has resource types before any load).

Additive only: safe while older code runs.

Revision ID: 0002_metadef_tables
Revises: 0001_initial
Create Date: 2026-11-24
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002_metadef_tables"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

STANDARD_RESOURCE_TYPES = ("OS::Glance::Image", "OS::Cinder::Volume", "OS::Nova::Server",
                           "OS::Nova::Flavor", "OS::Nova::Aggregate", "OS::Trove::Instance")
_TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def _timestamps() -> list[sa.Column]:
    return [sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("updated_at", sa.DateTime(), nullable=True)]


def _namespace_fk(primary_key: bool = False) -> sa.Column:
    return sa.Column("namespace_id", sa.Integer(),
                     sa.ForeignKey("metadef_namespaces.id", ondelete="CASCADE"),
                     nullable=False, primary_key=primary_key)


def upgrade() -> None:
    op.create_table(
        "metadef_namespaces",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("namespace", sa.String(80), nullable=False),
        sa.Column("display_name", sa.String(80), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("visibility", sa.String(32), nullable=False),
        sa.Column("protected", sa.Boolean(), nullable=False),
        sa.Column("owner", sa.String(255), nullable=True),
        *_timestamps(),
        sa.UniqueConstraint("namespace", name="uq_metadef_namespaces_namespace"),
        **_TABLE_OPTIONS,
    )
    op.create_index("ix_metadef_namespaces_owner", "metadef_namespaces", ["owner"])

    for table, extra in (
            ("metadef_objects", [sa.Column("description", sa.Text(), nullable=True),
                                 sa.Column("required", sa.Text(), nullable=True),
                                 sa.Column("json_schema", sa.Text(), nullable=False)]),
            ("metadef_properties", [sa.Column("json_schema", sa.Text(), nullable=False)]),
            ("metadef_tags", [])):
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            _namespace_fk(),
            sa.Column("name", sa.String(80), nullable=False),
            *extra,
            *_timestamps(),
            sa.UniqueConstraint("namespace_id", "name", name=f"uq_{table}_namespace_id_name"),
            **_TABLE_OPTIONS,
        )
        op.create_index(f"ix_{table}_name", table, ["name"])

    resource_types = op.create_table(
        "metadef_resource_types",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("protected", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("name", name="uq_metadef_resource_types_name"),
        **_TABLE_OPTIONS,
    )
    op.create_table(
        "metadef_namespace_resource_types",
        sa.Column("resource_type_id", sa.Integer(),
                  sa.ForeignKey("metadef_resource_types.id"), primary_key=True),
        _namespace_fk(primary_key=True),
        sa.Column("properties_target", sa.String(80), nullable=True),
        sa.Column("prefix", sa.String(80), nullable=True),
        *_timestamps(),
        **_TABLE_OPTIONS,
    )
    op.create_index("ix_metadef_ns_res_types_namespace_id",
                    "metadef_namespace_resource_types", ["namespace_id"])

    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    op.bulk_insert(resource_types, [
        {"name": name, "protected": True, "created_at": now, "updated_at": None}
        for name in STANDARD_RESOURCE_TYPES])

"""Initial schema: images and their properties, tags, locations and members.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def _soft_delete_columns() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
    ]


def _child_table(name: str, *columns, constraints=()) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("image_id", sa.String(36), sa.ForeignKey("images.id"), nullable=False),
        *columns,
        *_soft_delete_columns(),
        *constraints,
        mysql_engine="InnoDB", mysql_charset="utf8mb4",
    )


def upgrade() -> None:
    op.create_table(
        "images",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("disk_format", sa.String(20), nullable=True),
        sa.Column("container_format", sa.String(20), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("virtual_size", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("visibility", sa.String(9), nullable=False),
        sa.Column("checksum", sa.String(32), nullable=True),
        sa.Column("os_hash_algo", sa.String(64), nullable=True),
        sa.Column("os_hash_value", sa.String(128), nullable=True),
        sa.Column("min_disk", sa.Integer(), nullable=False),
        sa.Column("min_ram", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(255), nullable=True),
        sa.Column("protected", sa.Boolean(), nullable=False),
        sa.Column("os_hidden", sa.Boolean(), nullable=False),
        *_soft_delete_columns(),
        mysql_engine="InnoDB", mysql_charset="utf8mb4",
    )
    for column in ("updated_at", "owner", "status", "visibility", "name", "checksum",
                   "os_hash_value"):
        op.create_index(f"ix_images_{column}", "images", [column])
    # The default listing order over live rows, without a sort step.
    op.create_index("ix_images_deleted_created_at_id", "images",
                    ["deleted", "created_at", "id"])

    _child_table(
        "image_properties",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        constraints=[sa.UniqueConstraint("image_id", "name",
                                         name="uq_image_properties_image_id_name")])
    op.create_index("ix_image_properties_name", "image_properties", ["name"])

    _child_table(
        "image_tags",
        sa.Column("value", sa.String(255), nullable=False),
        constraints=[sa.UniqueConstraint("image_id", "value",
                                         name="uq_image_tags_image_id_value")])
    op.create_index("ix_image_tags_value", "image_tags", ["value"])

    _child_table(
        "image_locations",
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("meta_data", sa.Text(), nullable=True),
        sa.Column("status", sa.String(30), nullable=False))
    op.create_index("ix_image_locations_image_id", "image_locations", ["image_id"])

    _child_table(
        "image_members",
        sa.Column("member", sa.String(255), nullable=False),
        sa.Column("can_share", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        constraints=[sa.UniqueConstraint("image_id", "member",
                                         name="uq_image_members_image_id_member")])
    op.create_index("ix_image_members_member", "image_members", ["member"])

"""Add the tasks and task_info tables.

Revision ID: 0005_expand_tasks
Revises: 0004_expand_location_metadata
Create Date: 2026-11-24

Expand only (new tables and their indexes): safe while older code runs. The
indexes serve the task listing (owner, status, type, default order) and the
soft delete of expired tasks (deleted, expires_at).
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_expand_tasks"
down_revision = "0004_expand_location_metadata"
branch_labels = None
depends_on = None

_TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("type", sa.String(30), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("image_id", sa.String(36), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("user_id", sa.String(64), nullable=True),
        sa.Column("runner", sa.String(255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        **_TABLE_OPTIONS,
    )
    for name, columns in (("ix_tasks_deleted_created_at_id", ["deleted", "created_at", "id"]),
                          ("ix_tasks_deleted_expires_at", ["deleted", "expires_at"]),
                          ("ix_tasks_owner", ["owner"]),
                          ("ix_tasks_status", ["status"]),
                          ("ix_tasks_type", ["type"]),
                          ("ix_tasks_image_id", ["image_id"])):
        op.create_index(name, "tasks", columns)
    op.create_table(
        "task_info",
        sa.Column("task_id", sa.String(36), sa.ForeignKey("tasks.id"), primary_key=True),
        sa.Column("input", sa.Text(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        **_TABLE_OPTIONS,
    )

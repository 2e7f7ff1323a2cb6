"""Remove what an adopted OpenStack Glance schema has that ours has not.

Revision ID: 0007_contract_glance_schema
Revises: 0004_contract_location_metadata
Depends on: 0006_expand_cache_tables
Create Date: 2026-12-02

Contract phase of the adoption of a Glance 2024.1-33 database (see
glance/db/adoption.py; the adoption's expand stamps 0006). On a database this
release created, every step finds nothing to do. On an adopted one, run once no
Glance node is left, it makes the schema the one a fresh database has:

* Glance's indexes that ours replaced (or that no query of ours uses) go;
* the unique constraints Glance does not have replace its looser ones: tags and
  members unique per image (Glance soft-deletes a removed tag or member and adds
  a new row when it comes back: those soft-deleted duplicates are removed first),
  properties' unique key under our name;
* metadef child rows get ``ON DELETE CASCADE``; metadef_namespaces.visibility and
  .protected become NOT NULL (NULLs set to Glance's defaults first);
* images.visibility loses Glance's ENUM type (MySQL, PostgreSQL), images.size and
  .virtual_size become BIGINT (SQLite, where Glance used INTEGER), and the server
  defaults Glance declared on five columns go (both implementations always write
  those columns).

Besides removals this tightens constraints, which is contract work as well: it
is safe only once the code that breaks them (Glance's) no longer runs. MySQL's
utf8mb3 table character set stays (converting means copying every table).
"""

import sqlalchemy as sa
from alembic import op

from glance.db import adoption

revision = "0007_contract_glance_schema"
down_revision = "0004_contract_location_metadata"
branch_labels = None
depends_on = "0006_expand_cache_tables"

GLANCE_INDEXES = {
    "images": ("checksum_image_idx", "created_at_image_idx", "ix_images_deleted",
               "os_hash_value_image_idx", "os_hidden_image_idx", "owner_image_idx",
               "updated_at_image_idx", "visibility_image_idx"),
    "image_properties": ("ix_image_properties_deleted", "ix_image_properties_image_id"),
    "image_locations": ("ix_image_locations_deleted",),
    "image_members": ("ix_image_members_deleted", "ix_image_members_image_id",
                      "ix_image_members_image_id_member"),
    "image_tags": ("ix_image_tags_image_id", "ix_image_tags_image_id_tag_value"),
    "tasks": ("ix_tasks_deleted", "ix_tasks_updated_at"),
}
# table: (Glance's unique constraint or None, ours, its columns)
UNIQUE_KEYS = {
    "image_properties": ("ix_image_properties_image_id_name",
                         "uq_image_properties_image_id_name", ["image_id", "name"]),
    "image_tags": (None, "uq_image_tags_image_id_value", ["image_id", "value"]),
    "image_members": ("image_members_image_id_member_deleted_at_key",
                      "uq_image_members_image_id_member", ["image_id", "member"]),
}
SERVER_DEFAULTS = {
    "images": {"protected": sa.Boolean(), "os_hidden": sa.Boolean(),
               "visibility": sa.String(9)},
    "image_locations": {"status": sa.String(30)},
    "image_members": {"status": sa.String(20)},
}
METADEF_CHILDREN = ("metadef_objects", "metadef_properties", "metadef_tags",
                    "metadef_namespace_resource_types")
# SQLite's foreign keys have no names; batch mode names them after this pattern.
SQLITE_FK_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s"}


def _fill_metadef_defaults(bind: sa.Connection) -> None:
    namespaces = sa.table("metadef_namespaces", sa.column("visibility", sa.String),
                          sa.column("protected", sa.Boolean))
    bind.execute(sa.update(namespaces).where(namespaces.c.visibility.is_(None))
                 .values(visibility="private"))
    bind.execute(sa.update(namespaces).where(namespaces.c.protected.is_(None))
                 .values(protected=False))


def _converge_table(bind: sa.Connection, table: str) -> None:
    """One table's changes, in one batch (one rebuild on SQLite, ALTERs elsewhere)."""
    inspector = sa.inspect(bind)
    indexes = {index["name"] for index in inspector.get_indexes(table)}
    uniques = {unique["name"] for unique in inspector.get_unique_constraints(table)}
    columns = {column["name"]: column for column in inspector.get_columns(table)}
    sqlite = bind.dialect.name == "sqlite"
    changes = _key_changes(table, uniques, indexes) + _column_changes(table, columns, sqlite)
    cascade = _cascade_changes(inspector, table, sqlite) if table in METADEF_CHILDREN else []
    changes += cascade
    if not changes:
        return
    with op.batch_alter_table(table, naming_convention=SQLITE_FK_NAMES
                              if sqlite and cascade else None) as batch:
        for change in changes:
            change(batch)


def _key_changes(table: str, uniques: set, indexes: set) -> list:
    """Our unique key instead of Glance's; Glance's extra indexes dropped."""
    changes = []
    if table in UNIQUE_KEYS:
        glance_key, ours, key_columns = UNIQUE_KEYS[table]
        if ours not in uniques | indexes:
            changes.append(lambda b: b.create_unique_constraint(ours, key_columns))
        if glance_key in uniques:
            changes.append(lambda b: b.drop_constraint(glance_key, type_="unique"))
    for name in GLANCE_INDEXES.get(table, ()):
        if name in indexes:
            changes.append(lambda b, name=name: b.drop_index(name))
    return changes


def _column_changes(table: str, columns: dict, sqlite: bool) -> list:
    """Column types, nullability and server defaults as ours are."""
    changes = []
    if sqlite and table == "images":
        for name in ("size", "virtual_size"):
            if not isinstance(columns[name]["type"], sa.BigInteger):
                changes.append(lambda b, name=name: b.alter_column(
                    name, type_=sa.BigInteger(), existing_nullable=True))
    if table == "metadef_namespaces":
        for name, type_ in (("visibility", sa.String(32)), ("protected", sa.Boolean())):
            if columns[name]["nullable"]:
                changes.append(lambda b, name=name, type_=type_: b.alter_column(
                    name, existing_type=type_, nullable=False))
    for name, type_ in SERVER_DEFAULTS.get(table, {}).items():
        if columns[name]["default"] is not None:
            changes.append(lambda b, name=name, type_=type_: b.alter_column(
                name, existing_type=type_, existing_nullable=False, server_default=None))
    return changes


def _cascade_changes(inspector: sa.Inspector, table: str, sqlite: bool) -> list:
    """Re-create the namespace foreign key with ON DELETE CASCADE, if it lacks it."""
    for fk in inspector.get_foreign_keys(table):
        if fk["constrained_columns"] != ["namespace_id"]:
            continue
        if (fk.get("options") or {}).get("ondelete", "").upper() == "CASCADE":
            return []
        name = f"fk_{table}_namespace_id" if sqlite else fk["name"]
        return [lambda b, name=name: b.drop_constraint(name, type_="foreignkey"),
                lambda b, name=name: b.create_foreign_key(
                    name, "metadef_namespaces", ["namespace_id"], ["id"],
                    ondelete="CASCADE")]
    return []


def _visibility_as_text(bind: sa.Connection) -> None:
    """images.visibility: Glance's ENUM (MySQL) or enum type (PostgreSQL) -> VARCHAR(9)."""
    if bind.dialect.name == "mysql":
        kind = bind.exec_driver_sql(
            "SELECT data_type FROM information_schema.columns WHERE table_schema = "
            "DATABASE() AND table_name = 'images' AND column_name = 'visibility'").scalar()
        if kind == "enum":
            bind.exec_driver_sql("ALTER TABLE images MODIFY visibility VARCHAR(9) NOT NULL")
    elif bind.dialect.name == "postgresql":
        kind = bind.exec_driver_sql(
            "SELECT udt_name FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND table_name = 'images' AND column_name = 'visibility'"
        ).scalar()
        if kind != "varchar":
            bind.exec_driver_sql("ALTER TABLE images ALTER COLUMN visibility DROP DEFAULT")
            bind.exec_driver_sql("ALTER TABLE images ALTER COLUMN visibility TYPE "
                                 "VARCHAR(9) USING visibility::text")
            bind.exec_driver_sql(f"DROP TYPE IF EXISTS {kind}")


def upgrade() -> None:
    bind = op.get_bind()
    for key in adoption.TIGHTENED:
        adoption.remove_duplicates(bind, key)
    _fill_metadef_defaults(bind)
    for table in ("images", "image_properties", "image_tags", "image_members",
                  "image_locations", "tasks", "metadef_namespaces", *METADEF_CHILDREN):
        _converge_table(bind, table)
    _visibility_as_text(bind)

"""Schema migrations through alembic's command API (used by glance-manage and start-up)."""

import os

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from glance.db.sqlalchemy import engine as db_engine

MIGRATIONS_DIR = os.path.join(os.path.dirname(__file__), "sqlalchemy", "migrations")


def alembic_config(connection=None) -> Config:
    """An alembic Config pointing at our migrations, bound to ``connection``."""
    config = Config(os.path.join(MIGRATIONS_DIR, "alembic.ini"))
    config.set_main_option("script_location", MIGRATIONS_DIR)
    config.attributes["connection"] = connection
    return config


def script_heads() -> tuple[str, ...]:
    """Head revisions of the migration scripts."""
    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_heads() -> tuple[str, ...]:
    """Revisions the database is at (empty when never migrated)."""
    with db_engine.get_engine().connect() as connection:
        return tuple(MigrationContext.configure(connection).get_current_heads())


def db_sync(revision: str = "heads") -> None:
    """Upgrade the schema to ``revision`` (all heads by default)."""
    with db_engine.get_engine().begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def is_current() -> bool:
    """Whether every migration has been applied."""
    return set(current_heads()) == set(script_heads())

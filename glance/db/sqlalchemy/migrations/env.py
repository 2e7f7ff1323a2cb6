"""Alembic environment: runs migrations on the connection glance-manage hands over."""

from alembic import context
from sqlalchemy import create_engine

from glance.db.sqlalchemy import models

config = context.config
target_metadata = models.Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as connection:
            _run(connection)
    else:
        _run(connection)


def _run(connection) -> None:
    # Our revisions go to alembic_version_adoption while an adopted OpenStack Glance
    # database still carries Glance's revision in alembic_version (glance/db/adoption.py).
    version_table = config.attributes.get("version_table") or "alembic_version"
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, compare_type=True, version_table=version_table)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()

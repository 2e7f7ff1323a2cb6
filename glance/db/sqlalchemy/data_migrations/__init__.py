"""Data migrations: the code that runs between the expand and contract phases.

Each module moves rows from an old shape to a new one in small batches. A
revision of the alembic ``migrate`` branch names its module here (attribute
``DATA_MIGRATION``); ``glance-manage db migrate`` runs the batches, each in its
own transaction, and then stamps the revision. The triggers created by the
matching expand revision keep rows written meanwhile by old code in step.
"""

from types import ModuleType
from typing import Protocol

from sqlalchemy.engine import Connection


class DataMigration(Protocol):
    """What a data-migration module provides."""

    def pending(self, connection: Connection) -> int:
        """How many rows still need moving."""

    def migrate_batch(self, connection: Connection, batch_size: int) -> int:
        """Move up to ``batch_size`` rows; returns how many were moved."""


def migrate_all(module: ModuleType, connection: Connection, batch_size: int = 500) -> int:
    """Run ``module``'s batches on one connection until nothing is left."""
    total = 0
    while True:
        moved = module.migrate_batch(connection, batch_size)
        total += moved
        if moved == 0:
            return total

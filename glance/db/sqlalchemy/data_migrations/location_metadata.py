"""Migration 0004: copy ``image_locations.meta_data`` (JSON text) into ``metadata`` (JSON).

Rows are parsed in Python, so the same code serves every database, and a value
that is not valid JSON is kept as a JSON string under the ``_unparsed`` key
rather than dropped.
"""

import json
import logging

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

LOG = logging.getLogger(__name__)
_JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True),
                                               "postgresql")


def _table(connection: Connection) -> sa.Table | None:
    """The image_locations columns we touch, or None once contract dropped meta_data."""
    columns = {c["name"] for c in sa.inspect(connection).get_columns("image_locations")}
    if not {"meta_data", "metadata"} <= columns:
        return None
    return sa.table("image_locations", sa.column("id", sa.Integer),
                    sa.column("meta_data", sa.Text), sa.column("metadata", _JSON))


def _unmoved(table: sa.Table) -> sa.ColumnElement[bool]:
    return sa.and_(table.c["metadata"].is_(None), table.c.meta_data.is_not(None))


def pending(connection: Connection) -> int:
    """Rows whose JSON text has not been copied yet."""
    table = _table(connection)
    if table is None:
        return 0
    return connection.execute(
        sa.select(sa.func.count()).select_from(table).where(_unmoved(table))).scalar_one()


def _parse(location_id: int, text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError:
        LOG.warning("image_locations row %s: meta_data is not JSON; kept as text", location_id)
        return {"_unparsed": text}
    return value if isinstance(value, dict) else {"_unparsed": text}


def migrate_batch(connection: Connection, batch_size: int) -> int:
    """Copy up to ``batch_size`` rows; returns how many were copied."""
    table = _table(connection)
    if table is None:
        return 0
    rows = connection.execute(
        sa.select(table.c.id, table.c.meta_data).where(_unmoved(table))
        .order_by(table.c.id).limit(batch_size)).all()
    for location_id, text in rows:
        connection.execute(sa.update(table).where(table.c.id == location_id)
                           .values(metadata=_parse(location_id, text)))
    return len(rows)

"""Keyset pagination shared by the repositories (images, tasks, metadefs)."""

from collections.abc import Sequence

import sqlalchemy as sa
from oslo_db.sqlalchemy import utils as db_utils

TIEBREAKERS = ("created_at", "id")


def _seek_bound(model, key: str, direction: str, marker_row) -> sa.ColumnElement | None:
    """``key >= marker's value`` (``<=`` descending): implied by the keyset condition
    oslo.db builds (an OR of one term per key, each with ``key > value`` or
    ``key = value``), so it changes no result; but unlike that OR it is a range an
    index on (..., key, ...) can start from, so a page after a marker deep in the
    list costs a seek, not a scan of every row before it. None when the marker's
    value is NULL (the OR then puts no condition on the key) or the key is a boolean
    (compared as an integer by oslo.db)."""
    value = getattr(marker_row, key)
    column = getattr(model, key)
    if value is None or isinstance(column.type, sa.Boolean):
        return None
    if direction == "desc":
        return column <= value
    if direction == "asc":
        return column >= value
    return None  # nullsfirst/nullslast orders let NULLs through the OR


def paginate(query, model, limit: int | None, sort: Sequence[tuple[str, str]], marker_row):
    """``query`` ordered by ``sort`` [(key, dir)] plus created_at and id as tiebreakers
    (in the first key's direction), starting after ``marker_row``, at most ``limit``."""
    keys = [key for key, _ in sort]
    dirs = [direction for _, direction in sort]
    for key in TIEBREAKERS:
        if key not in keys:
            keys.append(key)
            dirs.append(dirs[0])
    if marker_row is not None:
        bound = _seek_bound(model, keys[0], dirs[0], marker_row)
        if bound is not None:
            query = query.filter(bound)
    return db_utils.paginate_query(query, model, limit, keys, marker=marker_row,
                                   sort_dirs=dirs)

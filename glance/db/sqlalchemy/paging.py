"""Keyset pagination shared by the repositories (images, tasks, metadefs)."""

from collections.abc import Sequence

from oslo_db.sqlalchemy import utils as db_utils

TIEBREAKERS = ("created_at", "id")


def paginate(query, model, limit: int | None, sort: Sequence[tuple[str, str]], marker_row):
    """``query`` ordered by ``sort`` [(key, dir)] plus created_at and id as tiebreakers
    (in the first key's direction), starting after ``marker_row``, at most ``limit``."""
    keys = [key for key, _ in sort]
    dirs = [direction for _, direction in sort]
    for key in TIEBREAKERS:
        if key not in keys:
            keys.append(key)
            dirs.append(dirs[0])
    return db_utils.paginate_query(query, model, limit, keys, marker=marker_row,
                                   sort_dirs=dirs)

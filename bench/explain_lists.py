#!/usr/bin/env python3
"""Query plans of the scale benchmark's list calls, as the repository issues them.

Runs ``glance.db.sqlalchemy.api.image_get_all`` in-process for each list scenario of
bench/scale.py (as project ``proj-000``, member), captures the SQL of the page
query and prints its plan: ``EXPLAIN (ANALYZE, BUFFERS)`` on PostgreSQL, ``EXPLAIN
QUERY PLAN`` on SQLite, ``EXPLAIN`` on MariaDB.

    .venv/bin/python bench/explain_lists.py postgresql+psycopg2://postgres@127.0.0.1/glance_scale_100k
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import scale  # noqa: E402
import seed_images  # noqa: E402

from glance import context as glance_context  # noqa: E402
from glance.db import queries  # noqa: E402
from glance.db.sqlalchemy import api, engine  # noqa: E402


def image_queries(marker: str) -> dict[str, queries.ImageQuery]:
    hidden = [queries.Filter("os_hidden", "eq", False)]
    return {
        "list": queries.ImageQuery(limit=20, filters=list(hidden)),
        "list_marker": queries.ImageQuery(limit=20, marker=marker, filters=list(hidden)),
        "prop": queries.ImageQuery(limit=20, filters=list(hidden),
                                   properties={seed_images.FILTER_PROP: ["grp-7"]}),
        "tag": queries.ImageQuery(limit=20, filters=list(hidden), tags=["t3"]),
        "shared": queries.ImageQuery(limit=20, filters=list(hidden), visibility="shared"),
        "sort_name": queries.ImageQuery(limit=20, filters=list(hidden),
                                        sort=[("name", "asc")]),
    }


def explain(connection: sa.Connection, statement: str, params) -> list[str]:
    dialect = connection.dialect.name
    prefix = {"postgresql": "EXPLAIN (ANALYZE, BUFFERS) ", "sqlite": "EXPLAIN QUERY PLAN "}
    cursor = connection.connection.dbapi_connection.cursor()
    cursor.execute(prefix.get(dialect, "EXPLAIN ") + statement, params)
    return [" | ".join(str(c) for c in row) for row in cursor.fetchall()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--only", type=lambda s: s.split(","))
    parser.add_argument("--sql", action="store_true", help="print the SQL too")
    parser.add_argument("--repeat", type=int, default=20, help="timed calls per query")
    parser.add_argument("--no-plan", action="store_true")
    args = parser.parse_args()
    engine.CONF([], project="glance", default_config_files=[])
    engine.CONF.set_override("connection", args.url, group="database")
    _, markers, total = scale.sample_ids(args.url, 1)
    context = glance_context.RequestContext(project_id=seed_images.CALLER, roles=["member"])
    captured: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, _context, _many):
        captured.append((statement, parameters))

    print(f"{total} image rows")
    for name, query in image_queries(markers[0]).items():
        if args.only and name not in args.only:
            continue
        reader = engine._context_manager.reader.get_engine() if engine._configured else None
        if reader is None:
            api.image_get_all(context, query)  # configures the engines
            reader = engine._context_manager.reader.get_engine()
        sa.event.listen(reader, "before_cursor_execute", capture)
        captured.clear()
        api.image_get_all(context, query)
        sa.event.remove(reader, "before_cursor_execute", capture)
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            api.image_get_all(context, query)
            times.append((time.perf_counter() - t0) * 1000)
        page = next(s for s in captured if "LIMIT" in s[0] and "FROM images" in s[0])
        print(f"\n== {name}: median {statistics.median(times):.2f} ms in-process "
              f"({args.repeat} calls), {len(captured)} statements")
        if args.no_plan:
            continue
        if args.sql:
            print(page[0], page[1])
        with reader.connect() as connection:
            for line in explain(connection, *page):
                print("  " + line)


if __name__ == "__main__":
    main()

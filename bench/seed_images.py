#!/usr/bin/env python3
"""Seed N images straight into a glance database, in bulk, for the scale benchmark.

Each image gets 10 properties (``prop_0``..``prop_9``; ``prop_3`` = ``grp-<0..99>``,
1% selectivity) and 3 tags (``bench``, ``t<0..9>`` (10%), ``g<0..6>``). Visibility is
public 40%, private 30%, shared 20%, community 10%; owners are 100 projects
``proj-000``..``proj-099``; every shared image of project n has two members, n+1
(accepted) and n+37 (pending); every choice is drawn independently from a seeded
random generator. 2% of the images are soft-deleted (with their children), as in a
database that has lived. Rows go in through the models' tables with executemany in batches.

    .venv/bin/python bench/seed_images.py -n 100000 --url sqlite:////var/tmp/scale/s100k.sqlite
    .venv/bin/python bench/seed_images.py -n 1000000 \
        --url postgresql+psycopg2://postgres@127.0.0.1/glance_scale_1m

The schema is created (or brought current) with ``glance.db.migration.db_sync`` first.
"""

from __future__ import annotations

import argparse
import datetime
import random
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from glance.db import migration  # noqa: E402 - after the path is set
from glance.db.sqlalchemy import models  # noqa: E402

OWNERS = 100
CALLER = "proj-000"  # the project the benchmark lists as: owns 1%, member of 2% of shared
VISIBILITY = ("public",) * 4 + ("private",) * 3 + ("shared",) * 2 + ("community",)
BASE_TIME = datetime.datetime(2020, 1, 1)
FILTER_PROP, FILTER_MOD = "prop_3", 100
TAG_MOD = 10
DELETED_EVERY = 50


def image_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def rows(start: int, count: int, rng: random.Random) -> tuple[list, list, list, list]:
    """The images, properties, tags and members rows of images start..start+count."""
    images, props, tags, members = [], [], [], []
    for i in range(start, start + count):
        iid = image_id(rng)
        created = BASE_TIME + datetime.timedelta(seconds=i)
        deleted = i % DELETED_EVERY == DELETED_EVERY - 1
        owner_n = rng.randrange(OWNERS)
        owner = f"proj-{owner_n:03d}"
        visibility = VISIBILITY[rng.randrange(len(VISIBILITY))]
        images.append({
            "id": iid, "name": f"img-{rng.getrandbits(40):010x}", "disk_format": "raw",
            "container_format": "bare", "size": 1024 + i, "virtual_size": None,
            "status": "deleted" if deleted else "active", "visibility": visibility,
            "checksum": f"{rng.getrandbits(128):032x}", "os_hash_algo": "sha512",
            "os_hash_value": None, "min_disk": 0, "min_ram": 0, "owner": owner,
            "protected": False, "os_hidden": False, "created_at": created,
            "updated_at": created, "deleted_at": created if deleted else None,
            "deleted": deleted})
        child = {"image_id": iid, "created_at": created, "updated_at": None,
                 "deleted_at": created if deleted else None, "deleted": deleted}
        group = rng.randrange(FILTER_MOD)
        for k in range(10):
            value = f"grp-{group}" if f"prop_{k}" == FILTER_PROP else f"value-{k}-{i}"
            props.append({**child, "name": f"prop_{k}", "value": value})
        for value in ("bench", f"t{rng.randrange(TAG_MOD)}", f"g{rng.randrange(7)}"):
            tags.append({**child, "value": value})
        if visibility == "shared":
            for offset, status in ((1, "accepted"), (37, "pending")):
                members.append({**child, "member": f"proj-{(owner_n + offset) % OWNERS:03d}",
                                "can_share": False, "status": status})
    return images, props, tags, members


def batches(total: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(size, total - start)


def seed(url: str, count: int, batch: int = 5000, seed_value: int = 1) -> dict[str, float]:
    """Create the schema, insert ``count`` images; returns timings (seconds) and rows."""
    engine = sa.create_engine(url, insertmanyvalues_page_size=10000)
    t0 = time.perf_counter()
    migration.db_sync(engine=engine)
    t_schema = time.perf_counter() - t0
    tables = [models.Image.__table__, models.ImageProperty.__table__,
              models.ImageTag.__table__, models.ImageMember.__table__]
    rng = random.Random(seed_value)
    t1 = time.perf_counter()
    n_rows = 0
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA journal_mode = WAL")
            connection.exec_driver_sql("PRAGMA synchronous = OFF")
            connection.commit()
        elif connection.dialect.name == "postgresql":  # a benchmark's data: no fsync wait
            connection.exec_driver_sql("SET synchronous_commit = off")
        for start, n in batches(count, batch):
            parts = rows(start, n, rng)
            for table, part in zip(tables, parts, strict=True):
                if part:
                    connection.execute(table.insert(), part)
                    n_rows += len(part)
            connection.commit()
            if (start // batch) % 20 == 0:
                rate = (start + n) / (time.perf_counter() - t1)
                print(f"  {start + n} images, {rate:.0f} images/s", flush=True)
        if connection.dialect.name == "postgresql":
            connection.commit()
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE")
        elif connection.dialect.name == "sqlite":
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
        else:
            for table in tables:
                connection.exec_driver_sql(f"ANALYZE TABLE {table.name}")
            connection.commit()
    t_insert = time.perf_counter() - t1
    engine.dispose()
    return {"images": count, "rows": n_rows, "schema_s": round(t_schema, 2),
            "insert_and_analyze_s": round(t_insert, 2),
            "rows_per_s": round(n_rows / t_insert)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of an empty database")
    parser.add_argument("-n", "--images", type=int, default=10000)
    parser.add_argument("--batch", type=int, default=5000, help="images per transaction")
    args = parser.parse_args()
    print(seed(args.url, args.images, args.batch))


if __name__ == "__main__":
    main()

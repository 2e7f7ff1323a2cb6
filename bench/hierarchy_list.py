#!/usr/bin/env python3
"""List latency with hierarchical image access in use, next to the same list without.

Seeds N images (default 10,000) into a fresh database, a tenth of them shared
(a mix of plain members, subtree and domain entries), then times one page of
the default image list (``image_get_all``, the repository call behind
``GET /v2/images``) for a project caller, alternating:

* ``off``: the context has no lineage (the feature off: direct members only);
* ``on``: the context carries a 3-deep lineage (the feature on; the Keystone
  lookup is cached, so this is the per-request cost once warm); it sees more
  images (the subtree and domain shares);
* ``on-same``: a 3-deep lineage that no entry names: the same images as
  ``off``, so only the wider member condition differs.

Prints p50/p90 per mode and the on/off ratio (the target: within 1.2x). The
machine is shared: run it 2-3 times and quote the ratio, with ``uptime``.

    PYTHONPATH=. .venv/bin/python bench/hierarchy_list.py [--images 10000]
        [--connection postgresql+psycopg2://postgres@127.0.0.1:5432/DB]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from oslo_config import cfg  # noqa: E402

import glance.conf  # noqa: E402,F401 - registers [database]
from glance import context  # noqa: E402
from glance.db import migration  # noqa: E402
from glance.db.queries import ImageQuery  # noqa: E402
from glance.db.sqlalchemy import api, engine  # noqa: E402
from glance.hierarchy import Lineage  # noqa: E402

CONF = cfg.CONF
CALLER = "caller-project"
LINEAGE = Lineage(CALLER, "domain-1", ("parent", "grandparent", "top"))


def seed(count: int) -> None:
    """``count`` images of 50 owners; every 10th shared with the caller's tree."""
    kinds = [(CALLER, None), ("parent", "subtree"), ("domain-1", "domain"),
             ("other-project", None), ("other-top", "subtree")]
    for index in range(count):
        owner = f"owner-{index % 50}"
        shared = index % 10 == 0
        image = api.image_create({
            "id": str(uuid.uuid4()), "status": "active", "name": f"image-{index}",
            "visibility": "shared" if shared or index % 3 else "private",
            "min_disk": 0, "min_ram": 0, "protected": False, "os_hidden": False,
            "owner": owner, "disk_format": "raw", "container_format": "bare",
            "size": 1024}, {"prop": str(index % 7)}, [])
        if shared:
            member, scope = kinds[(index // 10) % len(kinds)]
            api.image_member_create(image["id"], member, -1, scope)
            if scope is None and member == CALLER:
                api.image_member_update(image["id"], member, "accepted")


def time_list(ctx, rounds: int, limit: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        api.image_get_all(ctx, ImageQuery(limit=limit))
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--limit", type=int, default=25)
    parser.add_argument("--connection", default=None,
                        help="a database URL (default: a fresh SQLite file)")
    parser.add_argument("--no-seed", action="store_true",
                        help="reuse the images a previous run left in --connection")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="hierarchy-bench-")
    url = args.connection or f"sqlite:///{workdir}/bench.sqlite"
    CONF([], project="glance")
    CONF.set_override("connection", url, group="database")
    engine.reset()
    migration.db_sync()
    started = time.perf_counter()
    if not args.no_seed:
        seed(args.images)
        print(f"seeded {args.images} images in {time.perf_counter() - started:.1f} s")
    print(f"database: {url}")
    off = context.RequestContext(project_id=CALLER, roles=["member"])
    on = context.RequestContext(project_id=CALLER, roles=["member"])
    on.project_lineage = LINEAGE
    same = context.RequestContext(project_id=CALLER, roles=["member"])
    same.project_lineage = Lineage(CALLER, "domain-x", ("x-parent", "x-grand", "x-top"))
    seen_off = len(api.image_get_all(off, ImageQuery(limit=1000)))
    seen_on = len(api.image_get_all(on, ImageQuery(limit=1000)))
    print(f"visible in the first 1000: off {seen_off}, on {seen_on}")
    time_list(off, 20, args.limit)  # warm caches
    time_list(on, 20, args.limit)
    time_list(same, 20, args.limit)
    modes = {"off": off, "on": on, "on-same": same}
    results: dict[str, list[float]] = {mode: [] for mode in modes}
    for _ in range(4):  # interleaved, so that load from others hits all alike
        for mode, ctx in modes.items():
            results[mode] += time_list(ctx, args.rounds // 4, args.limit)
    medians = {}
    for mode, samples in results.items():
        samples.sort()
        medians[mode] = statistics.median(samples)
        p90 = samples[int(len(samples) * 0.9)]
        print(f"{mode:>7}: p50 {medians[mode]:7.2f} ms  p90 {p90:7.2f} ms  "
              f"({len(samples)} lists of {args.limit})")
    print(f"ratio on/off (p50): {medians['on'] / medians['off']:.2f}; "
          f"on-same/off: {medians['on-same'] / medians['off']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Scale benchmark: show and list latency over HTTP on a database of N seeded images.

For each database URL given (seeded by bench/seed_images.py), starts a real
glance-api (noauth, 4 workers) on it and times, one request at a time on a keep-alive
connection, as the non-admin project ``proj-000`` (member, reader):

* ``noop``: ``GET /versions`` (the HTTP stack alone: the limit of this run);
* ``show``: ``GET /v2/images/{id}`` over random visible images;
* ``list``: ``GET /v2/images?limit=20``;
* ``list_marker``: the same with a marker in the middle of the listing;
* ``prop``: ``?limit=20&prop_3=grp-7`` (1% of the images);
* ``tag``: ``?limit=20&tag=t3`` (10%);
* ``shared``: ``?limit=20&visibility=shared``;
* ``sort_name``: ``?limit=20&sort_key=name&sort_dir=asc``.

Scenarios are interleaved over ``--rounds`` rounds (the machine is shared and noisy);
p50/p99 are over all rounds' samples.

    .venv/bin/python bench/scale.py sqlite:////var/tmp/scale/s10k.sqlite \\
        postgresql+psycopg2://postgres@127.0.0.1/glance_scale_10k
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import metadata_load  # noqa: E402
import seed_images  # noqa: E402

from tests import helpers  # noqa: E402

SCENARIOS = ("noop", "show", "list", "list_marker", "prop", "tag", "shared", "sort_name")
HEADERS = {"X-Roles": "member,reader", "X-Project-Id": seed_images.CALLER,
           "X-User-Id": "bench-user"}


def sample_ids(url: str, count: int) -> tuple[list[str], list[str], int]:
    """Random visible image ids (for show), markers near the middle of the default
    listing, and the number of image rows."""
    engine = sa.create_engine(url)
    images = seed_images.models.Image.__table__
    with engine.connect() as connection:
        total = connection.execute(sa.select(sa.func.count()).select_from(images)).scalar_one()
        middle = seed_images.BASE_TIME + datetime.timedelta(seconds=total // 2)
        live_public = sa.and_(images.c.deleted.is_(False), images.c.visibility == "public")
        markers = list(connection.execute(
            sa.select(images.c.id).where(live_public, images.c.created_at >= middle)
            .order_by(images.c.created_at).limit(20)).scalars())
        rng = random.Random(7)
        stamps = [seed_images.BASE_TIME + datetime.timedelta(seconds=rng.randrange(total))
                  for _ in range(count)]
        shows = []
        for stamp in stamps:
            shows.extend(connection.execute(
                sa.select(images.c.id).where(live_public, images.c.created_at >= stamp)
                .order_by(images.c.created_at).limit(1)).scalars())
    engine.dispose()
    return shows, markers, total


def paths(shows: list[str], markers: list[str]) -> dict[str, object]:
    page = "/v2/images?limit=20"
    return {
        "noop": lambda i: "/versions",
        "show": lambda i: f"/v2/images/{shows[i % len(shows)]}",
        "list": lambda i: page,
        "list_marker": lambda i: f"{page}&marker={markers[i % len(markers)]}",
        "prop": lambda i: f"{page}&{seed_images.FILTER_PROP}=grp-7",
        "tag": lambda i: f"{page}&tag=t3",
        "shared": lambda i: f"{page}&visibility=shared",
        "sort_name": lambda i: f"{page}&sort_key=name&sort_dir=asc",
    }


def measure(client: metadata_load.Client, path_of, requests: int, warmup: int,
            offset: int) -> tuple[list[float], int, int]:
    """Latencies (ms) of ``requests`` GETs after ``warmup``; errors; images in the last
    answer (a list must fill its page)."""
    for i in range(warmup):
        client.request("GET", path_of(offset + i))
    times, errors, returned = [], 0, -1
    for i in range(requests):
        res = client.request("GET", path_of(offset + warmup + i))
        if res.status != 200:
            errors += 1
            continue
        times.append(res.ms)
        if i == requests - 1 and res.body.startswith(b'{"images"'):
            returned = len(json.loads(res.body)["images"])
    return times, errors, returned


def run_one(url: str, args: argparse.Namespace, work: Path) -> dict[str, object]:
    shows, markers, total = sample_ids(url, 500)
    config = helpers.write_config(work, {
        "DEFAULT": {"workers": args.workers},
        "database": {"connection": url}})
    server = helpers.Server(config).start()
    try:
        client = metadata_load.Client(server.url, HEADERS, 60)
        path_map = paths(shows, markers)
        samples: dict[str, list[float]] = {name: [] for name in args.scenarios}
        rounds: dict[str, list[float]] = {name: [] for name in args.scenarios}
        errors = dict.fromkeys(args.scenarios, 0)
        returned = dict.fromkeys(args.scenarios, -1)
        for r in range(args.rounds):
            for name in args.scenarios:
                times, errs, got = measure(client, path_map[name], args.requests,
                                           args.warmup, r * 1000)
                samples[name] += times
                rounds[name].append(round(statistics.median(times), 2) if times else None)
                errors[name] += errs
                returned[name] = got
        client.close()
    finally:
        server.stop()
    rows = {}
    for name in args.scenarios:
        ms = sorted(samples[name])
        pct = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else ms * 99
        rows[name] = {"p50_ms": round(statistics.median(ms), 2) if ms else None,
                      "p99_ms": round(pct[98], 2) if ms else None,
                      "round_p50s": rounds[name], "errors": errors[name],
                      "returned": returned[name]}
    backend = sa.engine.make_url(url).get_backend_name()
    return {"url": url, "backend": backend, "image_rows": total, "scenarios": rows}


def print_report(result: dict[str, object]) -> None:
    noop = result["scenarios"].get("noop", {}).get("p50_ms")
    print(f"\n{result['backend']} {result['image_rows']} image rows ({result['url']})")
    print(f"{'scenario':<12}{'p50 ms':>9}{'p99 ms':>9}{'x noop':>8}{'errors':>7}"
          f"{'page':>6}  round p50s")
    for name, row in result["scenarios"].items():
        ratio = f"{row['p50_ms'] / noop:.1f}" if noop and row["p50_ms"] else "-"
        print(f"{name:<12}{row['p50_ms']:>9}{row['p99_ms']:>9}{ratio:>8}{row['errors']:>7}"
              f"{row['returned']:>6}  {row['round_p50s']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("urls", nargs="+", help="seeded database URLs")
    parser.add_argument("--requests", type=int, default=100, help="per scenario and round")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--scenarios", type=lambda s: s.split(","), default=list(SCENARIOS))
    parser.add_argument("--code", type=Path, default=ROOT,
                        help="checkout whose glance package the server runs (PYTHONPATH)")
    parser.add_argument("--out", type=Path, help="JSON report (default bench/results/...)")
    args = parser.parse_args()
    # The venv may hold an editable install of another checkout: PYTHONPATH wins.
    os.environ["PYTHONPATH"] = str(args.code.resolve())
    with open("/proc/loadavg") as handle:
        load = handle.read().split()[:3]
    results = []
    with tempfile.TemporaryDirectory(prefix="glance-scale-", dir="/var/tmp") as tmp:
        for n, url in enumerate(args.urls):
            result = run_one(url, args, Path(tmp) / f"run{n}")
            print_report(result)
            results.append(result)
    with open("/proc/loadavg") as handle:
        load_after = handle.read().split()[:3]
    print(f"\nload average before {' '.join(load)}, after {' '.join(load_after)}")
    out = args.out or ROOT / "bench" / "results" / time.strftime("scale-%Y%m%d-%H%M%S.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"load_before": load, "load_after": load_after,
                               "args": {k: str(v) for k, v in vars(args).items()},
                               "results": results}, indent=2))
    print(f"report: {out}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Memory of the standalone glance-api: master + workers, idle and after listing.

Starts the real server (``python -m glance.cmd.api``: SQLite, file store, noauth,
``[DEFAULT] workers = 4``) in a temporary directory, waits until every worker has
booted, and reads ``/proc/<pid>/smaps_rollup`` of the master and of each worker
(process tree summed): RSS, PSS, private dirty (what the process alone pays for) and
shared. Readings:

* ``idle``: after start-up and a few warm-up requests to every worker;
* for each size in ``--sizes`` (cumulative): seed images up to that count (``--seed``:
  ``api``, POST /v2/images on 8 threads, or ``sql``, rows copied straight into the
  SQLite file from images made through the API: quick for 100k), then ``--clients``
  threads each make ``--lists`` ``GET /v2/images?limit=20`` calls and ``--pages`` walks
  over the whole collection (``limit=1000`` pages following ``next``), then read again.

    python bench/memory.py                          # idle, 10k (api seeding)
    python bench/memory.py --sizes 10000,100000 --seed sql
    python bench/memory.py --env MALLOC_ARENA_MAX=2 --json out.json

Prints a table per reading and, with ``--json``, writes every reading.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import helpers  # noqa: E402 - after the path

HEADERS = {"X-Roles": "admin,member,reader", "X-Project-Id": "bench-project",
           "X-User-Id": "bench-user"}
FIELDS = ("Rss", "Pss", "Private_Dirty", "Private_Clean", "Shared_Clean",
          "Shared_Dirty", "Anonymous", "Swap")


def smaps(pid: int) -> dict[str, int]:
    """``/proc/<pid>/smaps_rollup`` fields in KiB."""
    values = {}
    with open(f"/proc/{pid}/smaps_rollup") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) >= 2 and parts[0].rstrip(":") in FIELDS:
                values[parts[0].rstrip(":")] = int(parts[1])
    return values


def children(pid: int) -> list[int]:
    """Descendants of ``pid`` (through /proc/<pid>/task/*/children), depth first."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                kids = [int(k) for k in handle.read().split()]
        except FileNotFoundError:
            continue
        for kid in kids:
            found.append(kid)
            found.extend(children(kid))
    return found


def reading(master: int) -> dict:
    """Per-process and total memory of the server's process tree, MiB."""
    rows = []
    for role, pid in [("master", master)] + [("worker", k) for k in children(master)]:
        try:
            values = smaps(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
        rows.append({"role": role, "pid": pid,
                     **{k.lower(): values.get(k, 0) / 1024 for k in FIELDS}})
    total = {k.lower(): sum(r[k.lower()] for r in rows) for k in FIELDS}
    return {"processes": rows, "total": total, "workers": len(rows) - 1}


def print_reading(label: str, data: dict) -> None:
    print(f"\n== {label}: {data['workers']} workers")
    print(f"{'process':<16}{'RSS':>9}{'PSS':>9}{'priv dirty':>12}{'shared':>9}  MiB")
    for row in data["processes"] + [{"role": "total", "pid": "", **data["total"]}]:
        shared = row["shared_clean"] + row["shared_dirty"]
        name = f"{row['role']} {row['pid']}".strip()
        print(f"{name:<16}{row['rss']:>9.1f}{row['pss']:>9.1f}"
              f"{row['private_dirty']:>12.1f}{shared:>9.1f}")


def wait_workers(server: helpers.Server, workers: int, timeout: float = 120) -> None:
    """Until ``workers`` workers exist and each has answered (keep-alive off: every
    request may reach another worker), then let the heap settle."""
    deadline = time.monotonic() + timeout
    while len(children(server.pid)) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError("workers did not boot")
        time.sleep(0.2)
    for _ in range(8 * workers):  # every worker serves at least one of these, likely
        requests.get(server.url + "/v2/images?limit=1", headers={**HEADERS,
                     "Connection": "close"}, timeout=30).raise_for_status()
    time.sleep(2)


def create_image(session: requests.Session, url: str, index: int) -> str:
    body = {"name": f"mem-{index}", "disk_format": "raw", "container_format": "bare",
            "tags": ["t1", "t2", f"g{index % 10}"],
            **{f"prop_{p}": f"value-{p}-{index}" for p in range(10)}}
    body["prop_3"] = f"grp-{index % 100}"
    for _ in range(5):
        resp = session.post(url + "/v2/images", json=body, headers=HEADERS, timeout=60)
        if resp.status_code == 201:
            return resp.json()["id"]
        time.sleep(0.2)
    resp.raise_for_status()
    raise RuntimeError(f"create failed: {resp.status_code}")


def seed_api(url: str, start: int, stop: int, threads: int = 8) -> None:
    sessions = [requests.Session() for _ in range(threads)]
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda i: create_image(sessions[i % threads], url, i),
                      range(start, stop)))


def seed_sql(db_path: Path, url: str, start: int, stop: int) -> None:
    """Copy images made through the API (with their properties and tags) as new rows."""
    templates = [create_image(requests.Session(), url, i) for i in range(start, start + 10)]
    con = sqlite3.connect(db_path, timeout=60)
    con.row_factory = sqlite3.Row
    rows = {t: con.execute("SELECT * FROM images WHERE id = ?", (t,)).fetchone()
            for t in templates}
    props = {t: [dict(r) for r in con.execute(
        "SELECT * FROM image_properties WHERE image_id = ?", (t,))] for t in templates}
    tags = {t: [dict(r) for r in con.execute(
        "SELECT * FROM image_tags WHERE image_id = ?", (t,))] for t in templates}
    image_cols = rows[templates[0]].keys()

    def insert(table: str, records: list[dict]) -> None:
        cols = [c for c in records[0] if c != "id" or table == "images"]
        con.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES "
                        f"({', '.join('?' * len(cols))})",
                        [[r[c] for c in cols] for r in records])

    with con:
        images, image_props, image_tags = [], [], []
        for index in range(start + 10, stop):
            template = templates[index % 10]
            new_id = str(uuid.uuid4())
            image = dict(zip(image_cols, rows[template], strict=True))
            image.update(id=new_id, name=f"mem-{index}")
            images.append(image)
            for prop in props[template]:
                value = f"grp-{index % 100}" if prop["name"] == "prop_3" else prop["value"]
                image_props.append({**prop, "image_id": new_id, "value": value})
            image_tags.extend({**tag, "image_id": new_id} for tag in tags[template])
            if len(images) >= 5000:
                insert("images", images)
                insert("image_properties", image_props)
                insert("image_tags", image_tags)
                images, image_props, image_tags = [], [], []
        if images:
            insert("images", images)
            insert("image_properties", image_props)
            insert("image_tags", image_tags)
    con.close()


def list_calls(url: str, lists: int, pages: int, clients: int) -> dict:
    """``lists`` limit=20 calls and ``pages`` whole walks, by each of ``clients``
    threads (one keep-alive connection each, so every worker takes its share)."""

    def one_client(_: int) -> int:
        session, seen = requests.Session(), 0
        for _ in range(lists):
            session.get(url + "/v2/images?limit=20", headers=HEADERS,
                        timeout=60).raise_for_status()
        for _ in range(pages):
            path = "/v2/images?limit=1000"
            while path:
                resp = session.get(url + path, headers=HEADERS, timeout=300)
                resp.raise_for_status()
                body = resp.json()
                seen += len(body["images"])
                path = body.get("next")
        return seen

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        seen = sum(pool.map(one_client, range(clients)))
    return {"seconds": round(time.monotonic() - started, 1), "images_listed": seen}


def count_images(url: str) -> int:
    total, path = 0, "/v2/images?limit=1000"
    session = requests.Session()
    while path:
        body = session.get(url + path, headers=HEADERS, timeout=300).json()
        total += len(body["images"])
        path = body.get("next")
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--sizes", default="10000",
                        help="comma list of image counts (cumulative); '' for idle only")
    parser.add_argument("--seed", choices=("api", "sql"), default="api")
    parser.add_argument("--lists", type=int, default=200, help="limit=20 list calls")
    parser.add_argument("--pages", type=int, default=2,
                        help="walks over the whole collection in limit=1000 pages")
    parser.add_argument("--clients", type=int, default=4,
                        help="client threads doing the list calls (each does all of them)")
    parser.add_argument("--env", action="append", default=[],
                        help="NAME=VALUE for the server's environment (repeatable)")
    parser.add_argument("--source", default=str(ROOT),
                        help="checkout whose glance the server runs (PYTHONPATH); default: "
                             "this one, not whatever the venv's editable install points to")
    parser.add_argument("--json", help="write the readings to this file")
    parser.add_argument("--keep", action="store_true", help="keep the state directory")
    args = parser.parse_args()
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (args.source, os.environ.get("PYTHONPATH")) if p)
    for item in args.env:
        name, _, value = item.partition("=")
        os.environ[name] = value
    work = Path(tempfile.mkdtemp(prefix="glance-memory-", dir=os.environ.get("BENCH_DIR")))
    server = helpers.Server(helpers.write_config(
        work, {"DEFAULT": {"workers": args.workers}}))
    report: dict = {"workers": args.workers, "env": args.env, "source": args.source,
                    "load": os.getloadavg(), "readings": []}
    started = time.monotonic()
    server.start()
    print(f"glance-api pid {server.pid} at {server.url}; healthy in "
          f"{time.monotonic() - started:.1f} s; state in {work}", flush=True)
    try:
        wait_workers(server, args.workers)
        data = reading(server.pid)
        print_reading("idle", data)
        report["readings"].append({"label": "idle", **data})
        seeded = 0
        for size in [int(s) for s in args.sizes.split(",") if s]:
            t0 = time.monotonic()
            if args.seed == "api":
                seed_api(server.url, seeded, size)
            else:
                seed_sql(server.state_path / "glance.sqlite", server.url, seeded, size)
            seeded = size
            seed_s = time.monotonic() - t0
            print(f"\nseeded {count_images(server.url)} images in {seed_s:.1f} s",
                  flush=True)
            data = reading(server.pid)
            print_reading(f"after seeding {size}", data)
            report["readings"].append({"label": f"seeded {size}", **data})
            listed = list_calls(server.url, args.lists, args.pages, args.clients)
            time.sleep(2)
            data = reading(server.pid)
            print_reading(f"after listing {size} ({args.clients} clients x ({args.lists} x "
                          f"limit=20, {args.pages} full walks): {listed})", data)
            report["readings"].append({"label": f"listed {size}", **data, **listed})
    finally:
        server.stop()
        if not args.keep:
            import shutil
            shutil.rmtree(work, ignore_errors=True)
    print("\nsummary (MiB)  " + "  ".join(
        f"{r['label']}: PSS {r['total']['pss']:.0f} RSS {r['total']['rss']:.0f}"
        for r in report["readings"]))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

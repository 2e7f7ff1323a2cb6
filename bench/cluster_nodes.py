#!/usr/bin/env python3
"""Metadata throughput through haproxy with 1, 2 and 3 glance-api nodes.

Starts a cluster of each size with tests/cluster/harness.py (one worker per node,
one PostgreSQL database, haproxy in front), runs bench/metadata_load.py against the
load balancer, and reads the CPU time the nodes used. On this 2-core machine the
nodes, haproxy, PostgreSQL and the load client share the cores, so more nodes
cannot add throughput here; what each node costs per request (node CPU ms per
request) gives the projection for nodes on machines of their own:
``n x 1000 / cpu_ms_per_request`` requests/s per core-bound node (one worker is
one process; the GIL keeps it to about one core), as long as the database and the
load balancer keep up.

    .venv/bin/python bench/cluster_nodes.py [--nodes 1,2,3] [--duration 5] [--db galera]

``--db galera``: a three-node MariaDB Galera of its own (tests/cluster/galera.py)
instead of the PostgreSQL database, node i on Galera node i (with fewer glance
nodes, the first ones).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import metadata_load  # noqa: E402

from tests.cluster import harness  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def group_cpu_seconds(pgid: int) -> float:
    """user+system CPU seconds of the running processes of group ``pgid``."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def run(nodes: int, args: argparse.Namespace, work: Path) -> dict:
    database = None
    if args.db == "galera":
        from tests.cluster import galera

        database = galera.Galera(work / f"n{nodes}")
    cluster = harness.Cluster(work / f"n{nodes}", nodes=nodes, workers=1,
                              database=database).up()
    try:
        pgids = [n.server.process.pid for n in cluster.nodes]
        out = work / f"n{nodes}.json"
        before = sum(group_cpu_seconds(p) for p in pgids)
        started = time.monotonic()
        metadata_load.main(["--url", cluster.url, "--sizes", str(args.images),
                            "--concurrency", str(args.concurrency), "--duration",
                            str(args.duration), "--scenarios", args.scenarios,
                            "--out", str(out)])
        elapsed = time.monotonic() - started
        cpu = sum(group_cpu_seconds(p) for p in pgids) - before
        report = json.loads(out.read_text())
        rows = report["phases"][0]["scenarios"]
        timed = sum(int(r["requests"]) for r in rows)
        seeded = report["phases"][0]["seed"]["created"]
        cpu_ms = 1000 * cpu / max(timed + seeded, 1)
        return {"nodes": nodes, "seconds": round(elapsed, 1),
                "ok_per_s": {r["scenario"]: r["ok_per_s"] for r in rows},
                "errors": sum(int(r["errors"]) for r in rows),
                "node_cpu_ms_per_request": round(cpu_ms, 2),
                "projected_req_per_s_own_machines": round(nodes * 1000 / cpu_ms, 0)}
    finally:
        cluster.down()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nodes", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 3])
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--images", type=int, default=300)
    p.add_argument("--scenarios", default="show,list,create")
    p.add_argument("--db", choices=("postgresql", "galera"), default="postgresql")
    p.add_argument("--out", type=Path,
                   default=ROOT / "bench" / "results" /
                   f"cluster-nodes-{time.strftime('%Y%m%d-%H%M%S')}.json")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cluster-bench-") as tmp:
        results = [run(n, args, Path(tmp)) for n in args.nodes]
    print(f"\n{'nodes':>5} " + " ".join(f"{s + ' ok/s':>12}" for s in args.scenarios.split(","))
          + f"{'cpu ms/req':>12}{'projected req/s':>17}")
    for r in results:
        print(f"{r['nodes']:>5} " + " ".join(f"{r['ok_per_s'].get(s, 0):>12}"
                                             for s in args.scenarios.split(","))
              + f"{r['node_cpu_ms_per_request']:>12}{r['projected_req_per_s_own_machines']:>17}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"tool": "bench/cluster_nodes.py", "cores": os.cpu_count(),
                                    "db": args.db, "results": results}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())

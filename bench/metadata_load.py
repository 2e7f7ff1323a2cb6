#!/usr/bin/env python3
"""Load benchmark for the Images API v2 metadata paths (create/show/list/patch/delete).

Stdlib only.  See bench/README.md for how to run it and what the columns mean.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

JSON = "application/json"
PATCH_TYPE = "application/openstack-images-v2.1-json-patch"
N_PROPS = 10
FILTER_PROP = "prop_3"
FILTER_MOD = 100  # prop_3 cycles over 100 values, so the filter matches ~1% of seeded images
FILTER_VALUE = "grp-7"
MAX_ERROR_SAMPLES = 5
HEADER = (
    f"{'scenario':<12}{'conc':>5}{'images':>8}{'reqs':>7}{'errors':>7}{'err%':>7}"
    f"{'req/s':>9}{'ok/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'conns':>7}"
)
STALE_ERRORS = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


@dataclass
class Result:
    """Outcome of one HTTP request."""

    status: int  # 0 on a connection error
    body: bytes
    ms: float


class Client:
    """One persistent HTTP/1.1 connection, reopened after errors or server-side closes."""

    def __init__(self, url: str, headers: dict[str, str], timeout: float) -> None:
        parts = urlsplit(url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.headers = headers
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None
        self.reused = False
        self.connects = 0

    def _open(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        self.conn = cls(self.host, self.port, timeout=self.timeout)
        self.reused = False
        self.connects += 1
        return self.conn

    def close(self) -> None:
        """Drop the current connection, if any."""
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    def _once(self, method: str, path: str, body: bytes | None, ctype: str) -> Result:
        conn = self.conn or self._open()
        headers = dict(self.headers, **{"Content-Type": ctype})
        conn.request(method, self.prefix + path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        if resp.will_close:
            self.close()
        else:
            self.reused = True
        return Result(resp.status, data, 0.0)

    def request(self, method: str, path: str, body: object = None, ctype: str = JSON) -> Result:
        """Send one request; retry once if a kept-alive connection turned out to be stale."""
        raw = None if body is None else json.dumps(body).encode()
        t0 = time.perf_counter()
        for attempt in (0, 1):
            stale_ok = self.conn is not None and self.reused and attempt == 0
            try:
                res = self._once(method, path, raw, ctype)
                res.ms = (time.perf_counter() - t0) * 1000.0
                return res
            except STALE_ERRORS as exc:
                self.close()
                if not stale_ok:
                    return Result(0, repr(exc).encode(), (time.perf_counter() - t0) * 1000.0)
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                return Result(0, repr(exc).encode(), (time.perf_counter() - t0) * 1000.0)
        raise AssertionError("unreachable")


class Tickets:
    """Hands out request indices until a count or a deadline is reached."""

    def __init__(self, limit: int | None, duration: float | None) -> None:
        self.limit = limit
        self.deadline = None if duration is None else time.monotonic() + duration
        self.next = 0
        self.lock = threading.Lock()

    def take(self) -> int | None:
        """Return the next index, or None when the run is over."""
        with self.lock:
            if self.limit is not None and self.next >= self.limit:
                return None
            if self.deadline is not None and time.monotonic() >= self.deadline:
                return None
            self.next += 1
            return self.next - 1


Op = Callable[[Client, int], Result]


@dataclass
class Stats:
    """Merged per-thread measurements of one scenario run."""

    ok_ms: list[float] = field(default_factory=list)
    requests: int = 0
    errors: int = 0
    connects: int = 0
    samples: list[dict[str, object]] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, res: Result) -> None:
        """Record one result (status >= 400 or a connection error is an error)."""
        self.requests += 1
        if res.status == 0 or res.status >= 400:
            self.errors += 1
            if len(self.samples) < MAX_ERROR_SAMPLES:
                text = res.body[:400].decode("utf-8", "replace")
                self.samples.append({"status": res.status, "body": text})
        else:
            self.ok_ms.append(res.ms)

    def summary(self) -> dict[str, object]:
        """Aggregate numbers for the report; latencies are of successful requests only."""
        ms = sorted(self.ok_ms)
        pct = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else ms * 99
        secs = self.seconds or 1e-9
        return {
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": self.errors / self.requests if self.requests else 0.0,
            "seconds": round(self.seconds, 3),
            "req_per_s": round(self.requests / secs, 1),
            "ok_per_s": round(len(ms) / secs, 1),
            "p50_ms": round(statistics.median(ms), 2) if ms else None,
            "p99_ms": round(pct[98], 2) if ms else None,
            "max_ms": round(ms[-1], 2) if ms else None,
            "connections": self.connects,
            "error_samples": self.samples,
        }


def run_workers(
    make_client: Callable[[], Client], op: Op, threads: int, tickets: Tickets
) -> Stats:
    """Run `op` from `threads` client threads until `tickets` runs out."""
    parts = [Stats() for _ in range(threads)]

    def worker(stats: Stats) -> None:
        client = make_client()
        while (i := tickets.take()) is not None:
            try:
                stats.add(op(client, i))
            except Exception as exc:  # a bug in an op must not silently kill the thread
                stats.add(Result(0, f"client-side: {exc!r}".encode(), 0.0))
        client.close()
        stats.connects = client.connects

    pool = [threading.Thread(target=worker, args=(s,), daemon=True) for s in parts]
    t0 = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    total = Stats(seconds=time.perf_counter() - t0)
    for s in parts:
        total.ok_ms += s.ok_ms
        total.requests += s.requests
        total.errors += s.errors
        total.connects += s.connects
        total.samples += s.samples[: MAX_ERROR_SAMPLES - len(total.samples)]
    return total


def image_body(tag: str, i: int) -> dict[str, object]:
    """A create-image body with N_PROPS string properties and 3 tags."""
    body: dict[str, object] = {
        "name": f"bench-{tag}-{i}",
        "disk_format": "raw",
        "container_format": "bare",
        "tags": ["bench", f"t{i % 10}", f"g{i % 7}"],
    }
    for k in range(N_PROPS):
        body[f"prop_{k}"] = f"value-{k}-{i}"
    body[FILTER_PROP] = f"grp-{i % FILTER_MOD}"
    return body


def rss_mib(pid: int | None) -> dict[str, object] | None:
    """Sum VmRSS of `pid` and all its descendants (via /proc/*/task/*/children), in MiB."""
    if pid is None:
        return None
    seen: dict[int, int] = {}
    todo = [pid]
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        try:
            with open(f"/proc/{p}/status") as fh:
                kb = next((int(ln.split()[1]) for ln in fh if ln.startswith("VmRSS:")), 0)
            seen[p] = kb
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except (OSError, ValueError):
            continue
    total = sum(seen.values()) / 1024.0
    return {"mib": round(total, 1), "processes": len(seen)}


class Bench:
    """Holds the shared state of one benchmark run (seeded ids, pools, results)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tag = uuid.uuid4().hex[:8]
        self.headers = {
            "X-Roles": "admin,member,reader",
            "X-Project-Id": args.project,
            "X-User-Id": args.user,
        }
        self.seeded: list[str] = []
        self.created: list[str] = []
        self.lock = threading.Lock()
        self.counter = 0
        self.rss: list[dict[str, object]] = []

    def client(self) -> Client:
        """A new client for one thread."""
        return Client(self.args.url, self.headers, self.args.timeout)

    def snapshot(self, label: str) -> None:
        """Record the server's RSS under `label` (no-op without --pid)."""
        rss = rss_mib(self.args.pid)
        if rss is not None:
            self.rss.append({"label": label, **rss})
            print(f"  RSS {label}: {rss['mib']:.1f} MiB in {rss['processes']} processes")

    def create_into(self, dest: list[str]) -> Op:
        """An op creating one image and appending its id to `dest` on success."""

        def op(c: Client, i: int) -> Result:
            with self.lock:
                self.counter += 1
                n = self.counter
            res = c.request("POST", "/v2/images", image_body(self.tag, n))
            if res.status == 201:
                with self.lock:
                    dest.append(json.loads(res.body)["id"])
            return res

        return op

    def bulk(self, op: Op, n: int, what: str) -> Stats:
        """Run `n` untimed setup requests on --seed-threads threads, retrying 5xx answers."""

        def retrying(c: Client, i: int) -> Result:
            for attempt in range(self.args.setup_retries + 1):
                res = op(c, i)
                if 0 < res.status < 500:
                    break
                time.sleep(0.05 * 2**attempt)
            return res

        stats = run_workers(self.client, retrying, self.args.seed_threads, Tickets(n, None))
        rate = stats.requests / (stats.seconds or 1e-9)
        print(
            f"  {what}: {n} requests in {stats.seconds:.1f}s ({rate:.0f}/s), {stats.errors} errors"
        )
        for s in stats.samples[:2]:
            print(f"    e.g. {s['status']}: {one_line(s['body'])}")
        return stats

    def delete_ids(self, ids: list[str], what: str) -> None:
        """Untimed deletion of `ids`."""
        if ids:
            self.bulk(lambda c, i: c.request("DELETE", f"/v2/images/{ids[i]}"), len(ids), what)

    def scenario_ops(self) -> dict[str, Callable[[], tuple[Op, int | None]]]:
        """Scenario name -> factory returning (op, optional hard cap on requests)."""
        ids = self.seeded
        order = random.sample(range(len(ids)), len(ids))

        def pick(i: int) -> str:
            return ids[order[i % len(order)]]

        def delete_op() -> tuple[Op, int | None]:
            want = self.args.requests
            if len(self.created) < want:
                self.bulk(
                    self.create_into(self.created), want - len(self.created), "top up delete pool"
                )
            with self.lock:
                take = len(self.created) if self.args.duration else want
                pool = self.created[:take]
                del self.created[:take]

            def delete(c: Client, i: int) -> Result:
                res = c.request("DELETE", f"/v2/images/{pool[i]}")
                if res.status == 0 or res.status >= 500:  # still there: clean up later
                    with self.lock:
                        self.created.append(pool[i])
                return res

            return delete, len(pool)

        def patch(c: Client, i: int) -> Result:
            body = [{"op": "replace", "path": "/prop_0", "value": f"x{i}"}]
            return c.request("PATCH", f"/v2/images/{pick(i)}", body, PATCH_TYPE)

        flt = f"/v2/images?limit=20&{FILTER_PROP}={FILTER_VALUE}"
        return {
            "show": lambda: ((lambda c, i: c.request("GET", f"/v2/images/{pick(i)}")), None),
            "list": lambda: ((lambda c, i: c.request("GET", "/v2/images?limit=20")), None),
            "list_filter": lambda: ((lambda c, i: c.request("GET", flt)), None),
            "patch": lambda: (patch, None),
            "create": lambda: (self.create_into(self.created), None),
            "delete": delete_op,
        }

    def phase(self, size: int) -> dict[str, object]:
        """Seed up to `size` images, then run every scenario at every concurrency."""
        print(f"\n== phase: {size} images ==")
        self.snapshot(f"{size}:before_seed")
        need = size - len(self.seeded)
        seed = self.bulk(self.create_into(self.seeded), need, "seed") if need > 0 else Stats()
        if not self.seeded:
            sys.exit("seeding failed: no image could be created")
        self.snapshot(f"{size}:after_seed")
        print(HEADER)
        results = []
        ops = self.scenario_ops()
        lists = [n for n in self.args.scenarios if n.startswith("list")]
        for name in self.args.scenarios:
            for conc in self.args.concurrency:
                op, cap = ops[name]()
                limit = cap if self.args.duration else self.args.requests
                if cap is not None and limit is not None:
                    limit = min(limit, cap)
                stats = run_workers(self.client, op, conc, Tickets(limit, self.args.duration))
                row = {"scenario": name, "concurrency": conc, "images": len(self.seeded)}
                row.update(stats.summary())
                results.append(row)
                print_row(row)
            if lists and name == lists[-1]:
                self.snapshot(f"{size}:after_list")
        leftover = self.created[:]
        self.created.clear()
        self.delete_ids(leftover, "delete leftover created images")
        return {
            "size": size,
            "seeded": len(self.seeded),
            "seed": {
                "created": seed.requests - seed.errors,
                "errors": seed.errors,
                "seconds": round(seed.seconds, 2),
                "error_samples": seed.samples,
            },
            "scenarios": results,
        }


def print_row(r: dict[str, object]) -> None:
    """Print one scenario result line (and its first error sample)."""

    def num(v: object) -> str:
        return "-" if v is None else f"{v:.1f}"

    print(
        f"{r['scenario']:<12}{r['concurrency']:>5}{r['images']:>8}{r['requests']:>7}"
        f"{r['errors']:>7}{100 * r['error_rate']:>6.1f}%{num(r['req_per_s']):>9}"
        f"{num(r['ok_per_s']):>9}{num(r['p50_ms']):>9}{num(r['p99_ms']):>9}"
        f"{r['connections']:>7}",
        flush=True,
    )
    for s in r["error_samples"][:1]:
        print(f"    first error {s['status']}: {one_line(s['body'])}")


def one_line(body: object) -> str:
    """An error body squeezed onto one short line."""
    return " ".join(str(body).split())[:200]


def int_list(text: str) -> list[int]:
    """Parse '1000,10000' into [1000, 10000]."""
    return [int(x) for x in text.split(",") if x.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line options."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    default_out = Path(__file__).resolve().parent / "results" / f"metadata-{stamp}.json"
    scen = ["show", "list", "list_filter", "patch", "create", "delete"]
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--url", default="http://127.0.0.1:9292")
    p.add_argument("--project", default="bench-project")
    p.add_argument("--user", default="bench-user")
    p.add_argument(
        "--sizes",
        type=int_list,
        default=[1000, 10000],
        help="image counts to seed up to, one phase each (default 1000,10000)",
    )
    p.add_argument("--concurrency", type=int_list, default=[1, 8])
    p.add_argument("--requests", type=int, default=400, help="requests per scenario and level")
    p.add_argument(
        "--duration", type=float, help="seconds per scenario and level (overrides --requests)"
    )
    p.add_argument(
        "--scenarios",
        type=lambda s: s.split(","),
        default=scen,
        help="comma list, run in this order (default %(default)s)",
    )
    p.add_argument("--seed-threads", type=int, default=8)
    p.add_argument(
        "--setup-retries", type=int, default=5, help="retries of a failed untimed setup request"
    )
    p.add_argument("--timeout", type=float, default=60.0, help="per-request socket timeout")
    p.add_argument("--pid", type=int, help="server master pid, for RSS of its process tree")
    p.add_argument("--cleanup", action="store_true", help="delete the seeded images at the end")
    p.add_argument("--out", type=Path, default=default_out)
    args = p.parse_args(argv)
    unknown = set(args.scenarios) - set(scen)
    if unknown:
        p.error(f"unknown scenarios: {sorted(unknown)}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run all phases, print the table, write the JSON report."""
    args = parse_args(argv)
    bench = Bench(args)
    probe = bench.client().request("GET", "/versions")
    if probe.status == 0:
        sys.exit(f"server not reachable at {args.url}: {probe.body.decode()}")
    print(f"server {args.url} (GET /versions -> {probe.status}); run tag {bench.tag}")
    started = time.time()
    phases = [bench.phase(size) for size in sorted(args.sizes)]
    if args.cleanup:
        bench.delete_ids(bench.seeded, "cleanup seeded images")
    bench.snapshot("end")
    report = {
        "tool": "bench/metadata_load.py",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "seconds": round(time.time() - started, 1),
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "run_tag": bench.tag,
        "phases": phases,
        "rss": bench.rss,
    }
    print("\n" + HEADER)
    for ph in phases:
        for row in ph["scenarios"]:
            print_row(row)
    for snap in bench.rss:
        print(f"RSS {snap['label']:<22}{snap['mib']:>9.1f} MiB")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    failed = sum(int(r["errors"]) for ph in phases for r in ph["scenarios"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

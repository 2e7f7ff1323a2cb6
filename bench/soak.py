#!/usr/bin/env python3
"""Soak test: N concurrent clients mixing metadata and data calls for a long time.

Each client loops: create an image, patch it, add a tag, upload 256 KiB, show,
download (whole and a range), list, and delete it. Every minute (``--interval``)
a line reports requests, errors, p50/p99 latency and the server's RSS (the
glance-api master and its workers, summed). At the end: totals, the error
samples, and the RSS drift between the first and the last interval.

    python bench/soak.py                       # starts its own glance-api (SQLite)
    python bench/soak.py --url http://127.0.0.1:9292 --pid <master pid>
    python bench/soak.py --duration 60 --interval 10 --clients 32

Exit status 1 when any request failed (status >= 500, a dropped connection, or
an unexpected status).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

IDENTITY = {"X-Roles": "member,reader", "X-User-Id": "soak",
            "X-Project-Id": uuid.uuid4().hex}
OCTET = {"Content-Type": "application/octet-stream"}
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
DATA = os.urandom(256 * 1024)


@dataclass
class Window:
    """What happened in one reporting interval."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0


class Recorder:
    """Thread-safe per-interval latencies and errors."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.window = Window()
        self.samples: list[str] = []
        self.total = 0
        self.failed = 0
        self.by_method: dict[str, list[float]] = {}

    def record(self, seconds: float, error: str | None, method: str = "") -> None:
        with self.lock:
            self.total += 1
            self.window.latencies.append(seconds)
            self.by_method.setdefault(method, []).append(seconds)
            if error:
                self.failed += 1
                self.window.errors += 1
                if len(self.samples) < 10:
                    self.samples.append(error)

    def take(self) -> Window:
        with self.lock:
            window, self.window = self.window, Window()
        return window


def _call(session: requests.Session, recorder: Recorder, method: str, url: str,
          expect: tuple[int, ...], **kwargs) -> requests.Response | None:
    started = time.monotonic()
    try:
        response = session.request(method, url, timeout=60, **kwargs)
    except requests.RequestException as err:
        recorder.record(time.monotonic() - started, f"{method} {url}: {err!r}", method)
        return None
    error = None
    if response.status_code not in expect:
        error = f"{method} {url}: {response.status_code} {response.text[:200]}"
    recorder.record(time.monotonic() - started, error, method)
    return response


def client(base: str, recorder: Recorder, stop: threading.Event) -> None:
    """One client's loop of mixed calls."""
    session = requests.Session()
    session.headers.update(IDENTITY)
    while not stop.is_set():
        created = _call(session, recorder, "POST", f"{base}/v2/images", (201,),
                        json={"name": "soak", "disk_format": "raw",
                              "container_format": "bare", "tags": ["soak"]})
        if created is None or created.status_code != 201:
            time.sleep(0.1)
            continue
        image = f"{base}/v2/images/{created.json()['id']}"
        _call(session, recorder, "PATCH", image, (200,), headers=PATCH,
              data=json.dumps([{"op": "add", "path": "/soak_key", "value": "v"}]))
        _call(session, recorder, "PUT", f"{image}/tags/t2", (204,))
        _call(session, recorder, "PUT", f"{image}/file", (204,), data=DATA, headers=OCTET)
        _call(session, recorder, "GET", image, (200,))
        _call(session, recorder, "GET", f"{image}/file", (200,))
        _call(session, recorder, "GET", f"{image}/file", (206,),
              headers={"Range": "bytes=100-4195"})
        _call(session, recorder, "GET", f"{base}/v2/images?limit=20&tag=soak", (200,))
        _call(session, recorder, "DELETE", image, (204,))


def rss_mib(pid: int | None) -> float:
    """Resident memory of ``pid`` and its children, in MiB (0 when unknown)."""
    if pid is None:
        return 0.0
    try:
        process = psutil.Process(pid)
        processes = [process, *process.children(recursive=True)]
        return sum(p.memory_info().rss for p in processes) / 2 ** 20
    except psutil.Error:
        return 0.0


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run(base: str, pid: int | None, duration: float, interval: float, clients: int,
        out=sys.stdout) -> dict:
    """Run the soak; returns a summary (also printed)."""
    recorder, stop = Recorder(), threading.Event()
    threads = [threading.Thread(target=client, args=(base, recorder, stop), daemon=True)
               for _ in range(clients)]
    for thread in threads:
        thread.start()
    print(f"{'minute' if interval == 60 else 'interval':>8}{'reqs':>8}{'errors':>8}"
          f"{'p50 ms':>9}{'p99 ms':>9}{'RSS MiB':>9}", file=out, flush=True)
    rows = []
    started = time.monotonic()
    while time.monotonic() - started < duration:
        time.sleep(min(interval, max(0.0, duration - (time.monotonic() - started))))
        window = recorder.take()
        row = {"interval": len(rows) + 1, "requests": len(window.latencies),
               "errors": window.errors,
               "p50_ms": percentile(window.latencies, 0.50) * 1000,
               "p99_ms": percentile(window.latencies, 0.99) * 1000, "rss_mib": rss_mib(pid)}
        rows.append(row)
        print(f"{row['interval']:>8}{row['requests']:>8}{row['errors']:>8}"
              f"{row['p50_ms']:>9.1f}{row['p99_ms']:>9.1f}{row['rss_mib']:>9.1f}",
              file=out, flush=True)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    summary = {"requests": recorder.total, "errors": recorder.failed,
               "error_samples": recorder.samples, "intervals": rows,
               "rss_first_mib": rows[0]["rss_mib"] if rows else 0.0,
               "rss_last_mib": rows[-1]["rss_mib"] if rows else 0.0,
               "methods": {method: {"requests": len(values),
                                    "p50_ms": percentile(values, 0.50) * 1000,
                                    "p99_ms": percentile(values, 0.99) * 1000}
                           for method, values in sorted(recorder.by_method.items())}}
    print(f"total {summary['requests']} requests, {summary['errors']} errors; RSS "
          f"{summary['rss_first_mib']:.1f} -> {summary['rss_last_mib']:.1f} MiB", file=out)
    # Writes (POST, PATCH, PUT, DELETE) apart from reads: their tails are SQLite's.
    for method, row in summary["methods"].items():
        print(f"  {method:<7}{row['requests']:>8} requests  p50 {row['p50_ms']:7.1f} ms  "
              f"p99 {row['p99_ms']:7.1f} ms", file=out)
    for sample in recorder.samples:
        print(f"  error: {sample}", file=out)
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a running glance-api (default: start one)")
    parser.add_argument("--pid", type=int, help="its master pid, for RSS")
    parser.add_argument("--duration", type=float, default=1800, help="seconds (1800)")
    parser.add_argument("--interval", type=float, default=60, help="report every (60 s)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4, help="for the started server")
    args = parser.parse_args()
    server = None
    url, pid = args.url, args.pid
    if url is None:
        from tests import helpers

        work = Path(tempfile.mkdtemp(prefix="glance-soak-"))
        server = helpers.Server(helpers.write_config(
            work, {"DEFAULT": {"workers": args.workers}})).start()
        url, pid = server.url, server.pid
        print(f"glance-api at {url} (pid {pid}), state in {work}", flush=True)
    try:
        summary = run(url, pid, args.duration, args.interval, args.clients)
    finally:
        if server is not None:
            server.stop()
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

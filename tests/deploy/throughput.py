"""Requests per second of each deployment, on this machine.

Usage: ``python -m tests.deploy.throughput [--seconds 10] [--clients 16]
[standalone apache apache-prefix uwsgi]``

Starts each deployment from the ``httpd/`` templates (as the deploy tests do),
seeds 50 images, then for ``--seconds`` runs ``--clients`` threads doing, in
turn, GET /v2/images/{id}, GET /v2/images?limit=20 and POST /v2/images, and
prints requests/s and latency percentiles per deployment. Client and server
share the machine's CPUs, so compare the numbers with each other.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import statistics
import threading
import time

import requests

from tests import helpers
from tests.deploy import servers

HEADERS = helpers.ADMIN


def measure(url: str, seconds: float, clients: int) -> dict[str, float]:
    """Run the mixed load against ``url``; returns throughput and latencies."""
    ids = []
    for number in range(50):
        response = requests.post(f"{url}/v2/images", json={"name": f"seed-{number}"},
                                 headers=HEADERS, timeout=30)
        response.raise_for_status()
        ids.append(response.json()["id"])
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(offset: int) -> None:
        session = requests.Session()
        mine: list[float] = []
        failed = 0
        for step in itertools.count(offset):
            if time.monotonic() >= stop:
                break
            kind = step % 3
            started = time.monotonic()
            if kind == 0:
                response = session.get(f"{url}/v2/images/{ids[step % len(ids)]}",
                                       headers=HEADERS, timeout=30)
            elif kind == 1:
                response = session.get(f"{url}/v2/images", params={"limit": 20},
                                       headers=HEADERS, timeout=30)
            else:
                response = session.post(f"{url}/v2/images", json={"name": f"load-{step}"},
                                        headers=HEADERS, timeout=30)
            mine.append(time.monotonic() - started)
            failed += response.status_code >= 400
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    return {"requests": len(latencies), "errors": errors[0],
            "rps": len(latencies) / elapsed,
            "p50_ms": 1000 * statistics.median(latencies),
            "p95_ms": 1000 * latencies[int(len(latencies) * 0.95)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("names", nargs="*", default=list(servers.DEPLOYMENTS))
    args = parser.parse_args()
    print(f"{'deployment':14} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'requests':>9} errors")
    for name in args.names:
        deployment = servers.DEPLOYMENTS[name](servers.make_workdir(name))
        try:
            deployment.start()
            result = measure(deployment.url, args.seconds, args.clients)
        finally:
            deployment.stop()
            shutil.rmtree(deployment.workdir, ignore_errors=True)
        print(f"{name:14} {result['rps']:8.1f} {result['p50_ms']:8.1f} {result['p95_ms']:8.1f} "
              f"{result['requests']:9d} {result['errors']}", flush=True)


if __name__ == "__main__":
    main()

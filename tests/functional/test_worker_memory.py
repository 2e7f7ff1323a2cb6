"""The workers of ``glance-api`` share the master's memory: they are forked from a
master that built the application and froze its heap (glance/cmd/api.py).

Regression guards, not timings: a worker that builds its own application again,
or a full garbage-collector pass in a worker over the master's objects, copies
tens of MiB of the master's pages into each worker (measured: 75 MiB of private
dirty memory per worker, 424 MiB PSS for master + 4 workers, before; 21 MiB and
210 MiB after).
"""

import time

import requests

from tests import helpers

WORKERS = 4
# Bounds with a margin over the measured 21-23 MiB per worker and 210 MiB in all,
# well under the 75 MiB and 424 MiB a per-worker build and gc pass gave.
WORKER_PRIVATE_DIRTY_MIB = 45
TOTAL_PSS_MIB = 300


def _smaps(pid: int) -> dict[str, int]:
    values = {}
    with open(f"/proc/{pid}/smaps_rollup") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":"):
                values[parts[0][:-1]] = int(parts[1]) // 1024
    return values


def _workers(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return [int(kid) for kid in handle.read().split()]


def _warm(server: helpers.Server) -> None:
    """Requests on new connections (spread over the workers): creates and lists."""
    for index in range(6 * WORKERS):
        close = {"Connection": "close"}
        resp = requests.post(f"{server.url}/v2/images", headers={**helpers.MEMBER, **close},
                             json={"name": f"w{index}", "tags": ["t"], "p": "v"}, timeout=30)
        assert resp.status_code == 201, resp.text
        resp = requests.get(f"{server.url}/v2/images?limit=20",
                            headers={**helpers.MEMBER, **close}, timeout=30)
        assert resp.status_code == 200, resp.text


def test_workers_share_the_master_memory(start_server):
    server = start_server({"DEFAULT": {"workers": WORKERS}}, name="worker-memory")
    deadline = time.monotonic() + 60
    while len(_workers(server.pid)) < WORKERS and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = _workers(server.pid)
    assert len(workers) == WORKERS
    _warm(server)
    readings = {pid: _smaps(pid) for pid in [server.pid, *workers]}
    private = {pid: readings[pid]["Private_Dirty"] for pid in workers}
    assert max(private.values()) < WORKER_PRIVATE_DIRTY_MIB, readings
    total_pss = sum(reading["Pss"] for reading in readings.values())
    assert total_pss < TOTAL_PSS_MIB, readings


def test_the_application_is_built_once_in_the_master(start_server):
    # The noauth flavor's warning is logged by the build: once, by the master,
    # not again by every worker.
    server = start_server({"DEFAULT": {"workers": WORKERS}}, name="built-once")
    _warm(server)
    lines = [line for line in server.log_path.read_text().splitlines()
             if "Identity is NOT verified" in line]
    assert len(lines) == 1, lines
    assert f" {server.pid} " in lines[0], lines

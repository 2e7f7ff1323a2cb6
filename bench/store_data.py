"""RBD store data path: glance-api next to Ceph's own clients, measured in the same run.

Starts a one-node Ceph (tests/ceph/harness.py: memstore OSD, so the cluster's own
limit is CPU and memory, not a disk) and a real ``glance-api`` whose default store
is that cluster's rbd pool (``rbd_store_chunk_size`` 8, glance_store's default).
Then, ``--rounds`` times, interleaved so noise hits all alike, for one image of
``--size-mib`` random bytes:

* **python-rbd write / read**: the bindings writing the image sequentially in 8 MiB
  ``write`` calls, and again with 8 asynchronous 8 MiB writes in flight
  (``aio_write``); reading it back both ways;
* **rbd import / export**: Ceph's CLI from a file in /dev/shm, and to /dev/null;
* **glance_store 5.7 rbd add / get**: the library's own driver in this process
  (what glance used before glance/store_rbd.py);
* **md5+sha512**: both hashes of the image on two threads, the CPU an upload
  must spend whatever the store (glance computes ``checksum`` and ``os_hash_value``);
* **glance upload / download**: ``curl -T`` of the same file to ``PUT
  /v2/images/{id}/file`` (md5 + sha512 computed, snapshot protected) and a
  ``GET`` to /dev/null.

Each rate is the median of the rounds, in MiB/s; the ratios compare glance with the
best python-rbd way. Two noisy cores: the OSD, the client and glance share them.

Usage: ``.venv/bin/python bench/store_data.py [--size-mib 512] [--rounds 3] [--json F]``
"""

import argparse
import hashlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import helpers  # noqa: E402
from tests.ceph import harness  # noqa: E402

MIB = 1024 * 1024
PIECE = 8 * MIB
HEADERS = {"X-Roles": "admin,member,reader", "X-Project-Id": "bench", "X-User-Id": "u"}


def rate(nbytes: int, seconds: float) -> float:
    return nbytes / MIB / seconds


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


class RbdClient:
    """python-rbd on the cluster's pool as the glance user."""

    def __init__(self, cluster: harness.Ceph) -> None:
        import rados

        self.rbd = __import__("rbd")
        self.client = rados.Rados(conffile=str(cluster.conf), rados_id=cluster.user)
        self.client.connect(timeout=30)
        self.ioctx = self.client.open_ioctx(cluster.pool)

    def create(self, name: str, size: int):
        self.rbd.RBD().create(self.ioctx, name, size, order=23)
        return self.rbd.Image(self.ioctx, name)

    def write_sync(self, name: str, data: bytes) -> None:
        with self.create(name, len(data)) as image:
            view = memoryview(data)
            for offset in range(0, len(data), PIECE):
                image.write(bytes(view[offset:offset + PIECE]), offset)
            image.flush()

    def write_aio(self, name: str, data: bytes, depth: int = 8) -> None:
        slots = threading.Semaphore(depth)
        with self.create(name, len(data)) as image:
            view = memoryview(data)
            for offset in range(0, len(data), PIECE):
                slots.acquire()
                image.aio_write(bytes(view[offset:offset + PIECE]), offset,
                                lambda _c: slots.release())
            for _ in range(depth):
                slots.acquire()
            image.flush()

    def read_sync(self, name: str) -> int:
        total = 0
        with self.rbd.Image(self.ioctx, name, read_only=True) as image:
            size = image.size()
            for offset in range(0, size, PIECE):
                total += len(image.read(offset, min(PIECE, size - offset)))
        return total

    def read_aio(self, name: str, depth: int = 8) -> int:
        slots = threading.Semaphore(depth)
        got = [0]

        def done(_completion, data) -> None:
            got[0] += len(data)
            slots.release()

        with self.rbd.Image(self.ioctx, name, read_only=True) as image:
            size = image.size()
            for offset in range(0, size, PIECE):
                slots.acquire()
                image.aio_read(offset, min(PIECE, size - offset), done)
            for _ in range(depth):
                slots.acquire()
        return got[0]

    def remove(self, name: str) -> None:
        with self.rbd.Image(self.ioctx, name) as image:
            for snap in list(image.list_snaps()):
                if image.is_protected_snap(snap["name"]):
                    image.unprotect_snap(snap["name"])
                image.remove_snap(snap["name"])
        self.rbd.RBD().remove(self.ioctx, name)


def glance_store_driver(cluster: harness.Ceph):
    """glance_store's own rbd driver, configured in this process."""
    import glance_store
    from oslo_config import cfg

    conf = cfg.ConfigOpts()
    glance_store.register_opts(conf)
    conf([], project="bench-glance-store")
    for name, value in (("stores", ["rbd"]), ("default_store", "rbd"),
                        ("rbd_store_pool", cluster.pool), ("rbd_store_user", cluster.user),
                        ("rbd_store_ceph_conf", str(cluster.conf))):
        conf.set_override(name, value, "glance_store")
    glance_store.create_stores(conf)
    return glance_store.backend.get_store_from_scheme("rbd")


def curl(*args: str) -> tuple[int, float]:
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}",
                          *[a for name, value in HEADERS.items()
                            for a in ("-H", f"{name}: {value}")], *args],
                         capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), float(out[1])


def hash_limit(data: bytes) -> None:
    """md5 and sha512 of ``data`` on two threads: the least work an upload must do."""
    threads = [threading.Thread(target=lambda h=h: h.update(data))
               for h in (hashlib.md5(), hashlib.sha512())]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def one_round(cluster, server, client: RbdClient, driver, data: bytes, source: Path,
              record) -> None:
    """Every measurement once, each on a fresh image removed afterwards."""
    from glance_store import location as gs_location

    size = len(data)
    name = f"bench-{uuid.uuid4().hex[:8]}"
    record("md5+sha512 (2 threads)", rate(size, timed(lambda: hash_limit(data))))
    record("python-rbd write", rate(size, timed(lambda: client.write_sync(name, data))))
    record("python-rbd read", rate(size, timed(lambda: client.read_sync(name))))
    client.remove(name)
    record("python-rbd aio write", rate(size, timed(lambda: client.write_aio(name, data))))
    record("python-rbd aio read", rate(size, timed(lambda: client.read_aio(name))))
    client.remove(name)
    image = requests.post(f"{server.url}/v2/images", headers=HEADERS, timeout=60,
                          json={"disk_format": "raw", "container_format": "bare"})
    image_id = image.json()["id"]
    status, seconds = curl("-H", "Content-Type: application/octet-stream", "-X", "PUT",
                           "-T", str(source), f"{server.url}/v2/images/{image_id}/file")
    assert status == 204, status
    record("glance upload", rate(size, seconds))
    status, seconds = curl(f"{server.url}/v2/images/{image_id}/file")
    assert status == 200, status
    record("glance download", rate(size, seconds))
    requests.delete(f"{server.url}/v2/images/{image_id}", headers=HEADERS, timeout=60)
    base = ["rbd", "--conf", str(cluster.conf), "--id", cluster.user, "--pool", cluster.pool]
    record("rbd import", rate(size, timed(lambda: subprocess.run(
        [*base, "import", "--object-size", "8M", str(source), name], check=True,
        capture_output=True))))
    record("rbd export", rate(size, timed(lambda: subprocess.run(
        [*base, "export", name, "-"], check=True, stdout=subprocess.DEVNULL))))
    client.remove(name)
    gs_id = str(uuid.uuid4())
    stored: list = []
    record("glance_store 5.7 rbd add", rate(size, timed(lambda: stored.append(
        driver.add(gs_id, io.BytesIO(data), size, "sha512")))))
    where = gs_location.get_location_from_uri(stored[0][0], conf=driver.conf)
    record("glance_store 5.7 rbd get", rate(size, timed(
        lambda: sum(len(c) for c in driver.get(where)[0]))))
    driver.delete(where)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()
    size = args.size_mib * MIB
    work = Path(tempfile.mkdtemp(prefix="bench-rbd-"))
    shm = Path(tempfile.mkdtemp(prefix="bench-rbd-", dir="/dev/shm"))
    data = os.urandom(size)
    source = shm / "image.raw"
    source.write_bytes(data)
    # Room for a few copies at once: a full memstore hangs its clients.
    cluster = harness.Ceph(work / "ceph", memstore_bytes=max(4 * size, 1 << 30) + (1 << 30),
                           rgw=False).start()
    server = None
    results: dict[str, list[float]] = {}

    def record(name: str, value: float) -> None:
        results.setdefault(name, []).append(value)
        print(f"  {name:28s} {value:8.1f} MiB/s", flush=True)

    try:
        sections = {"DEFAULT": {"enabled_backends": "ceph:rbd", "workers": 1},
                    "glance_store": {"default_backend": "ceph"},
                    "ceph": {"rbd_store_pool": cluster.pool, "rbd_store_user": cluster.user,
                             "rbd_store_ceph_conf": str(cluster.conf)}}
        server = helpers.Server(helpers.write_config(work / "glance", sections)).start()
        client = RbdClient(cluster)
        driver = glance_store_driver(cluster)
        for round_ in range(1, args.rounds + 1):
            print(f"round {round_}/{args.rounds}", flush=True)
            one_round(cluster, server, client, driver, data, source, record)
    finally:
        if server is not None:
            server.stop()
        cluster.stop()
        source.unlink()
        shm.rmdir()
    summary = {name: round(statistics.median(values), 1) for name, values in results.items()}
    write_best = max(summary["python-rbd write"], summary["python-rbd aio write"])
    read_best = max(summary["python-rbd read"], summary["python-rbd aio read"])
    summary["upload / python-rbd best write"] = round(summary["glance upload"] / write_best, 2)
    summary["download / python-rbd best read"] = round(
        summary["glance download"] / read_best, 2)
    summary["glance_store add / python-rbd best write"] = round(
        summary["glance_store 5.7 rbd add"] / write_best, 2)
    print(f"\nmedians of {args.rounds} rounds, {args.size_mib} MiB image:")
    for name, value in summary.items():
        print(f"  {name:42s} {value}")
    if args.json:
        args.json.write_text(json.dumps({"size_mib": args.size_mib, "rounds": results,
                                         "summary": summary}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Swift store data path: glance-api next to python-swiftclient, measured in the same run.

Starts Keystone and a one-host Swift (tests/swift/harness.py: authtoken +
keystoneauth in the proxy, one replica on the work directory's disk) and a real
``glance-api`` whose default store is that Swift (single-tenant, glance's service
user, ``swift_store_large_object_size`` / ``_chunk_size`` at glance_store's
defaults unless given). Then, ``--rounds`` times, interleaved so noise hits all
alike, for one image of ``--size-mib`` random bytes in a file in /dev/shm:

* **swiftclient put / get**: python-swiftclient on one keystoneauth session (one
  login), ``put_object`` of the file with its length and ``get_object`` in 64 KiB
  chunks (glance_store's own read size);
* **glance upload / download**: ``PUT /v2/images/{id}/file`` of the same file (md5
  and sha512 computed, format inspected) and a ``GET`` read to the end; plus an
  upload without Content-Length (chunked; stored as segments + DLO manifest).

Rates are medians over the rounds, in MiB/s; ratios are glance / swiftclient.
Two noisy cores: the proxy, the object server, glance and the client share them.

Usage: ``.venv/bin/python bench/store_data_swift.py [--size-mib 256] [--rounds 3]
[--chunk-mib N --large-mib N] [--json FILE]``
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import swiftclient  # noqa: E402

from tests import helpers  # noqa: E402
from tests.swift import conftest as swift_conf  # noqa: E402
from tests.swift import harness  # noqa: E402

MIB = 1024 * 1024
HEADERS = {"X-Roles": "admin,member,reader", "X-Project-Id": "bench", "X-User-Id": "u"}
READ = 65536


def rate(nbytes: int, seconds: float) -> float:
    return nbytes / MIB / seconds


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def drain(chunks) -> int:
    return sum(len(chunk) for chunk in chunks)


def swift_round(conn: swiftclient.Connection, path: Path, size: int, n: int):
    name = f"bench-{n}"

    def put():
        with path.open("rb") as handle:
            conn.put_object("bench", name, handle, content_length=size)

    def get():
        _headers, body = conn.get_object("bench", name, resp_chunk_size=READ)
        assert drain(body) == size

    times = timed(put), timed(get)
    conn.delete_object("bench", name)
    return times


def glance_round(server: helpers.Server, path: Path, size: int, chunked: bool):
    images = f"{server.url}/v2/images"
    created = requests.post(images, headers=HEADERS, timeout=60, json={
        "name": "bench", "disk_format": "raw", "container_format": "bare"})
    image_id = created.json()["id"]
    put_headers = {**HEADERS, "Content-Type": "application/octet-stream"}

    def put():
        with path.open("rb") as handle:
            body = iter(lambda: handle.read(MIB), b"") if chunked else handle
            response = requests.put(f"{images}/{image_id}/file", data=body,
                                    headers=put_headers, timeout=600)
        assert response.status_code == 204, response.text

    def get():
        with requests.get(f"{images}/{image_id}/file", headers=HEADERS, stream=True,
                          timeout=600) as response:
            assert drain(response.iter_content(MIB)) == size

    times = timed(put), timed(get)
    requests.delete(f"{images}/{image_id}", headers=HEADERS, timeout=60)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--large-mib", type=int, default=5120,
                        help="swift_store_large_object_size (glance_store's default)")
    parser.add_argument("--chunk-mib", type=int, default=200,
                        help="swift_store_large_object_chunk_size (glance_store's default)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    size = args.size_mib * MIB
    work = Path(tempfile.mkdtemp(prefix="bench-swift-"))
    started = time.monotonic()
    env = harness.up(work)
    print(f"keystone + swift up in {time.monotonic() - started:.1f} s", flush=True)
    server = None
    shm = Path("/dev/shm") if Path("/dev/shm").is_dir() else work
    data = Path(tempfile.mkstemp(dir=shm, prefix="bench-swift-")[1])
    try:
        with data.open("wb") as handle:
            block = os.urandom(MIB)
            for index in range(args.size_mib):
                handle.write(block[index % 256:] + block[:index % 256])
        options = swift_conf.swift_options(
            env, swift_store_large_object_size=args.large_mib,
            swift_store_large_object_chunk_size=args.chunk_mib)
        sections = swift_conf.multi_store(env, work / "glance", options, keystone=False)
        server = helpers.Server(helpers.write_config(work / "glance", sections)).start()
        sess = swift_conf.user_session(env, "glance", harness.GLANCE_PASSWORD, "service")
        conn = swiftclient.Connection(session=sess)
        conn.put_container("bench")
        results: dict[str, list[float]] = {key: [] for key in (
            "swiftclient put", "swiftclient get", "glance upload", "glance download",
            "glance upload (chunked)", "glance download (segmented)")}
        for n in range(args.rounds):
            put, get = swift_round(conn, data, size, n)
            results["swiftclient put"].append(rate(size, put))
            results["swiftclient get"].append(rate(size, get))
            put, get = glance_round(server, data, size, chunked=False)
            results["glance upload"].append(rate(size, put))
            results["glance download"].append(rate(size, get))
            put, get = glance_round(server, data, size, chunked=True)
            results["glance upload (chunked)"].append(rate(size, put))
            results["glance download (segmented)"].append(rate(size, get))
            print(f"round {n + 1}: " + ", ".join(f"{k} {v[-1]:.0f}"
                                                 for k, v in results.items()), flush=True)
        medians = {key: statistics.median(values) for key, values in results.items()}
        ratios = {
            "upload / swiftclient put": medians["glance upload"] / medians["swiftclient put"],
            "chunked upload / swiftclient put":
                medians["glance upload (chunked)"] / medians["swiftclient put"],
            "download / swiftclient get":
                medians["glance download"] / medians["swiftclient get"],
            "segmented download / swiftclient get":
                medians["glance download (segmented)"] / medians["swiftclient get"]}
        print(f"\n{args.size_mib} MiB, {args.rounds} rounds, medians (MiB/s):")
        for key, value in medians.items():
            print(f"  {key:30s} {value:8.1f}")
        for key, value in ratios.items():
            print(f"  {key:38s} {value:5.2f}")
        if args.json:
            args.json.write_text(json.dumps({"size_mib": args.size_mib, "rounds": args.rounds,
                                             "results": results, "medians": medians,
                                             "ratios": ratios}, indent=1))
    finally:
        data.unlink(missing_ok=True)
        if server:
            server.stop()
        env.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

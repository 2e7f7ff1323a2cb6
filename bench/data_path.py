"""Image data-path benchmark, next to this machine's own limits measured in the same run.

Starts a real ``glance-api`` (noauth, SQLite, file store) in a temporary directory
and measures, with curl as the client:

* upload and download of a 1 GiB image;
* four parallel 256 MiB uploads, then four parallel downloads (failures counted);
* 1,000 random 4 KiB range GETs on one keep-alive connection (p50/p90/p99), with
  the stdlib HTTP client (the rest uses curl);

and the limits: reading the file with ``cat``, hashing md5+sha512 (one thread, then
two threads), writing it to a new file on the bench disk, a plain loopback HTTP
transfer of the same bytes (a tiny sendfile/recv server, no application work), and
the least an upload must do: that recv server hashing md5 and sha512 on two threads
and writing the bytes to a file. On small VMs the page-cache write varies a lot from
run to run (fresh guest pages, writeback of earlier runs): compare the upload with the
last limit of the same run.

Usage: ``.venv/bin/python bench/data_path.py [--size-mib 1024] [--keep]``
"""

import argparse
import hashlib
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import requests

HEADERS = {"X-Roles": "admin,member,reader", "X-Project-Id": "bench", "X-User-Id": "u"}
MIB = 1024 * 1024

WIRE_SERVER = r"""
import hashlib, os, queue, socket, sys, threading
path, sink = sys.argv[1], sys.argv[2]  # sink: "-" to drop uploads, else a file to write
size = os.path.getsize(path)

def hashers():
    queues = [queue.Queue(8), queue.Queue(8)]
    def run(q, h):
        while (chunk := q.get()) is not None:
            h.update(chunk)
    threads = [threading.Thread(target=run, args=(q, h))
               for q, h in zip(queues, (hashlib.md5(), hashlib.sha512()))]
    for t in threads:
        t.start()
    return queues, threads

srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0)); srv.listen(8); print(srv.getsockname()[1], flush=True)
buf = bytearray(1 << 20)
while True:
    conn, _ = srv.accept()
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    if head.startswith(b"PUT"):
        length = int([l.split(b":")[1] for l in head.split(b"\r\n")
                      if l.lower().startswith(b"content-length")][0])
        got = len(rest)
        if sink == "-":
            while got < length:
                got += conn.recv_into(buf)
        else:  # what an upload must do at least: receive, hash twice, write
            queues, threads = hashers()
            with open(sink, "wb", buffering=0) as out:
                chunk = rest
                while True:
                    for q in queues:
                        q.put(chunk)
                    out.write(chunk)
                    if got >= length:
                        break
                    chunk = conn.recv(min(1 << 20, length - got))
                    got += len(chunk)
            for q in queues:
                q.put(None)
            for t in threads:
                t.join()
            os.unlink(sink)
        conn.sendall(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
    else:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                     % size)
        with open(path, "rb") as f:
            offset = 0
            while offset < size:
                offset += os.sendfile(conn.fileno(), f.fileno(), offset, size - offset)
    conn.close()
"""


def rate(nbytes: int, seconds: float) -> float:
    return nbytes / MIB / seconds


def curl(*args: str) -> tuple[int, float]:
    """Run curl; returns (HTTP status, seconds)."""
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}",
                          *args], capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), float(out[1])


def header_args() -> list[str]:
    args = []
    for name, value in HEADERS.items():
        args += ["-H", f"{name}: {value}"]
    return args


def settle() -> None:
    """Flush dirty pages before a timed phase: on a small VM the kernel's writeback of
    the gigabytes written by the previous phase takes CPU from the next one."""
    os.sync()
    time.sleep(1)


def make_file(path: Path, size: int) -> None:
    block = os.urandom(MIB)
    with path.open("wb") as handle:
        for _ in range(size // MIB):
            handle.write(block)


def limits(path: Path, size: int) -> dict[str, float]:
    result = {}
    start = time.perf_counter()
    subprocess.run(f"cat {path} > /dev/null", shell=True, check=True)
    result["cat"] = rate(size, time.perf_counter() - start)

    def hash_file(name: str) -> None:
        hasher = hashlib.new(name)
        with path.open("rb") as handle:
            while chunk := handle.read(4 * MIB):
                hasher.update(chunk)

    start = time.perf_counter()
    hash_file("md5")
    hash_file("sha512")
    result["md5+sha512, one thread"] = rate(size, time.perf_counter() - start)
    threads = [threading.Thread(target=hash_file, args=(n,)) for n in ("md5", "sha512")]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result["md5 || sha512, two threads"] = rate(size, time.perf_counter() - start)

    copy = path.with_suffix(".copy")
    settle()
    start = time.perf_counter()
    with path.open("rb") as source, copy.open("wb", buffering=0) as target:
        while chunk := source.read(MIB):
            target.write(chunk)
    result["file write (1 MiB writes, page cache)"] = rate(size, time.perf_counter() - start)
    copy.unlink()

    for sink, upload_name in (("-", "loopback HTTP upload (recv)"),
                              (str(copy), "loopback HTTP upload + md5||sha512 + file write")):
        settle()
        wire = subprocess.Popen([sys.executable, "-c", WIRE_SERVER, str(path), sink],
                                stdout=subprocess.PIPE, text=True)
        try:
            port = int(wire.stdout.readline())
            if sink == "-":
                _, seconds = curl(f"http://127.0.0.1:{port}/")
                result["loopback HTTP download (sendfile)"] = rate(size, seconds)
            _, seconds = curl("-X", "PUT", "-T", str(path), f"http://127.0.0.1:{port}/")
            result[upload_name] = rate(size, seconds)
        finally:
            wire.terminate()
            wire.wait()
    return result


def start_glance(work: Path) -> tuple[subprocess.Popen, str]:
    port = 20000 + random.randrange(20000)
    conf = work / "glance-api.conf"
    conf.write_text(f"[DEFAULT]\nstate_path = {work / 'state'}\nbind_port = {port}\n"
                    "[paste_deploy]\nflavor = noauth\n")
    log = (work / "glance-api.log").open("wb")
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen([sys.executable, "-m", "glance.cmd.api", "--config-file",
                             str(conf)], stdout=log, stderr=subprocess.STDOUT, cwd=root,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(f"{url}/healthcheck", timeout=5).ok:
                return proc, url
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError("glance-api did not start")


def new_image(url: str) -> str:
    response = requests.post(f"{url}/v2/images", headers=HEADERS,
                             json={"disk_format": "raw", "container_format": "bare"})
    response.raise_for_status()
    return response.json()["id"]


def upload(url: str, image_id: str, path: Path) -> tuple[int, float]:
    return curl(*header_args(), "-H", "Content-Type: application/octet-stream",
                "-X", "PUT", "-T", str(path), f"{url}/v2/images/{image_id}/file")


def download(url: str, image_id: str) -> tuple[int, float]:
    return curl(*header_args(), f"{url}/v2/images/{image_id}/file")


def parallel(fn, items) -> tuple[list[int], float]:
    results: list[int] = [0] * len(items)

    def run(index: int, item) -> None:
        try:
            results[index] = fn(*item)[0]
        except Exception:  # noqa: BLE001 - counted as a failure
            results[index] = 0

    threads = [threading.Thread(target=run, args=(i, item)) for i, item in enumerate(items)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    size = args.size_mib * MIB
    work = Path(tempfile.mkdtemp(prefix="data-path-bench-",
                                 dir=os.environ.get("BENCH_DIR", "/var/tmp")))
    report: dict[str, dict] = {}
    proc = None
    try:
        big = work / "big.img"
        make_file(big, size)
        quarter = work / "quarter.img"
        make_file(quarter, size // 4)
        report["machine limits (MiB/s)"] = limits(big, size)
        proc, url = start_glance(work)

        image_id = new_image(url)
        settle()
        status, seconds = upload(url, image_id, big)
        assert status == 204, status
        up = rate(size, seconds)
        status, seconds = download(url, image_id)
        assert status == 200, status
        down = rate(size, seconds)
        report[f"glance {args.size_mib} MiB (MiB/s)"] = {"upload": up, "download": down}

        ids = [new_image(url) for _ in range(4)]
        settle()
        codes, seconds = parallel(upload, [(url, i, quarter) for i in ids])
        par_up = {"aggregate MiB/s": rate(size, seconds),
                  "failed": sum(code != 204 for code in codes)}
        codes, seconds = parallel(download, [(url, i) for i in ids])
        par_down = {"aggregate MiB/s": rate(size, seconds),
                    "failed": sum(code != 200 for code in codes)}
        report["4 parallel uploads"] = par_up
        report["4 parallel downloads"] = par_down

        # One keep-alive connection with the stdlib client: requests' own overhead
        # (about 1 ms a call) would be larger than what is measured.
        parsed = urllib.parse.urlsplit(url)
        settle()
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
        file_path = f"/v2/images/{image_id}/file"
        latencies = []
        for _ in range(1000):
            first = random.randrange(0, size - 4096)
            start = time.perf_counter()
            connection.request("GET", file_path, headers={
                **HEADERS, "Range": f"bytes={first}-{first + 4095}"})
            response = connection.getresponse()
            body = response.read()
            latencies.append((time.perf_counter() - start) * 1000)
            assert response.status == 206 and len(body) == 4096
        connection.close()
        latencies.sort()
        report["1000 random 4 KiB range GETs (ms)"] = {
            "p50": statistics.median(latencies), "p90": latencies[899],
            "p99": latencies[989]}

        wire_down = report["machine limits (MiB/s)"]["loopback HTTP download (sendfile)"]
        report["ratios"] = {
            "upload / Glance 33 (135 MiB/s)": up / 135,
            "upload / md5+sha512 one thread":
                up / report["machine limits (MiB/s)"]["md5+sha512, one thread"],
            "download / loopback wire": down / wire_down,
            "upload / (loopback upload + md5||sha512 + file write)":
                up / report["machine limits (MiB/s)"][
                    "loopback HTTP upload + md5||sha512 + file write"],
        }
    finally:
        if proc is not None:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=30)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    for section in report.values():
        for key, value in section.items():
            if isinstance(value, float):
                section[key] = round(value, 2)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

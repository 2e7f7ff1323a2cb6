"""S3 store data throughput through glance-api, next to boto3 and glance_store in one run.

Against a real radosgw (a one-node Ceph from tests/ceph/harness.py, started here
unless ``--cluster DIR`` names one already up), with the same part size and thread
count everywhere, it measures in MiB/s:

* glance-api (s3 as the default store, noauth, SQLite; curl as the client): upload
  with Content-Length, upload without (chunked), download, and 200 random 64 KiB
  Range GETs (p50 in ms);
* boto3 directly (the store's own client, its managed transfer): ``upload_file``
  (parallel multipart), one streaming ``get_object``;
* glance_store 5.7's s3 driver in this process (what Glance 33 runs): ``add`` with
  the size known, ``add`` with size 0 (Glance's upload without Content-Length),
  ``get``.

The ratio glance-api / boto3 is the figure to quote. Two noisy cores are shared by
curl, glance-api, radosgw and the OSD: repeat runs and take the median.

Usage: ``.venv/bin/python bench/store_data_s3.py [--size-mib 256] [--cluster DIR]``
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import boto3
import requests
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HEADERS = {"X-Roles": "admin,member,reader", "X-Project-Id": "bench", "X-User-Id": "u"}
MIB = 1024 * 1024
PART_MIB, THREADS, LARGE_MIB = 8, 8, 16


def rate(nbytes: int, seconds: float) -> float:
    return round(nbytes / MIB / seconds, 1)


def curl(*args: str) -> tuple[int, float]:
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}",
                          *[a for name, value in HEADERS.items() for a in
                            ("-H", f"{name}: {value}")], *args],
                         capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), float(out[1])


def s3_options(info: dict, bucket: str) -> dict[str, object]:
    return {"s3_store_host": info["rgw_endpoint"], "s3_store_access_key": info["s3_access_key"],
            "s3_store_secret_key": info["s3_secret_key"], "s3_store_bucket": bucket,
            "s3_store_create_bucket_on_put": True, "s3_store_bucket_url_format": "path",
            "s3_store_region_name": info["s3_region"],
            "s3_store_large_object_size": LARGE_MIB,
            "s3_store_large_object_chunk_size": PART_MIB, "s3_store_thread_pools": THREADS}


def bench_glance(info: dict, work: Path, path: Path, size: int) -> dict[str, float]:
    from tests import helpers
    options = s3_options(info, f"bench-glance-{uuid.uuid4().hex[:8]}")
    conf = helpers.write_config(work / "api", {
        "DEFAULT": {"enabled_backends": "s3:s3", "workers": 1},
        "glance_store": {"default_backend": "s3"}, "s3": options})
    server = helpers.Server(conf).start()
    result: dict[str, float] = {}
    try:
        def new_image() -> str:
            answer = requests.post(server.url + "/v2/images", headers=HEADERS, json={
                "disk_format": "raw", "container_format": "bare"})
            answer.raise_for_status()
            return answer.json()["id"]

        for name, extra in (("upload (Content-Length)", []),
                            ("upload (chunked)", ["-H", "Transfer-Encoding: chunked"])):
            image = new_image()
            status, seconds = curl("-H", "Content-Type: application/octet-stream", *extra,
                                   "-X", "PUT", "-T", str(path),
                                   f"{server.url}/v2/images/{image}/file")
            assert status == 204, status
            result[name] = rate(size, seconds)
        status, seconds = curl(f"{server.url}/v2/images/{image}/file")
        assert status == 200, status
        result["download"] = rate(size, seconds)
        session, times = requests.Session(), []
        for _ in range(200):
            start = random.randrange(size - 65536)
            began = time.perf_counter()
            answer = session.get(f"{server.url}/v2/images/{image}/file", headers={
                **HEADERS, "Range": f"bytes={start}-{start + 65535}"})
            times.append((time.perf_counter() - began) * 1000)
            assert answer.status_code == 206 and len(answer.content) == 65536
        result["64 KiB Range GET p50 (ms)"] = round(statistics.median(times), 1)
    finally:
        server.stop()
    return result


def boto(info: dict):
    return boto3.client(
        "s3", endpoint_url=info["rgw_endpoint"], region_name=info["s3_region"],
        aws_access_key_id=info["s3_access_key"], aws_secret_access_key=info["s3_secret_key"],
        config=Config(s3={"addressing_style": "path"}, max_pool_connections=THREADS + 2,
                      request_checksum_calculation="when_required",
                      response_checksum_validation="when_required"))


def bench_boto3(info: dict, path: Path, size: int) -> dict[str, float]:
    s3, bucket = boto(info), f"bench-boto3-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    transfer = TransferConfig(multipart_threshold=LARGE_MIB * MIB,
                              multipart_chunksize=PART_MIB * MIB, max_concurrency=THREADS)
    began = time.perf_counter()
    s3.upload_file(str(path), bucket, "k", Config=transfer)
    result = {"upload_file": rate(size, time.perf_counter() - began)}
    began = time.perf_counter()
    for _ in s3.get_object(Bucket=bucket, Key="k")["Body"].iter_chunks(MIB):
        pass
    result["get_object stream"] = rate(size, time.perf_counter() - began)
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_bucket(Bucket=bucket)
    return result


def bench_glance_store(info: dict, path: Path, size: int) -> dict[str, float]:
    import glance_store
    from oslo_config import cfg
    conf = cfg.ConfigOpts()
    glance_store.register_opts(conf)
    conf([], project="bench")
    conf.set_override("stores", ["s3"], "glance_store")
    conf.set_override("default_store", "s3", "glance_store")
    bucket = f"bench-gs-{uuid.uuid4().hex[:8]}"
    for name, value in s3_options(info, bucket).items():
        conf.set_override(name, value, "glance_store")
    glance_store.create_stores(conf)
    store = glance_store.backend.get_store_from_scheme("s3")
    result = {}
    for name, declared in (("add (size known)", size), ("add (size 0, as chunked)", 0)):
        key = str(uuid.uuid4())
        with path.open("rb") as handle:
            began = time.perf_counter()
            url, *_ = store.add(key, handle, declared, "sha512")
            result[name] = rate(size, time.perf_counter() - began)
    location = glance_store.location.get_location_from_uri(url, conf=conf)
    began = time.perf_counter()
    data, _ = store.get(location)
    for _ in data:
        pass
    result["get"] = rate(size, time.perf_counter() - began)
    s3 = boto(info)
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=item["Key"])
    s3.delete_bucket(Bucket=bucket)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--cluster", type=Path, help="a cluster directory already up")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="glance-bench-s3-"))
    cluster = None
    try:
        if args.cluster:
            info = json.loads((args.cluster / "cluster.json").read_text())
        else:
            from tests.ceph import harness
            cluster = harness.Ceph(work / "ceph", memstore_bytes=(4 * args.size_mib + 512)
                                   * MIB).start()
            info = cluster.info()
        size = args.size_mib * MIB
        path = work / "image.raw"
        block = os.urandom(MIB)
        with path.open("wb") as handle:
            for _ in range(args.size_mib):
                handle.write(block)
        report = {"size_mib": args.size_mib, "part_mib": PART_MIB, "threads": THREADS,
                  "boto3": bench_boto3(info, path, size),
                  "glance-api": bench_glance(info, work, path, size),
                  "glance_store 5.7 s3 driver": bench_glance_store(info, path, size)}
        ours, theirs = report["glance-api"], report["boto3"]
        report["ratios to boto3"] = {
            "upload": round(ours["upload (Content-Length)"] / theirs["upload_file"], 2),
            "upload chunked": round(ours["upload (chunked)"] / theirs["upload_file"], 2),
            "download": round(ours["download"] / theirs["get_object stream"], 2)}
        print(json.dumps(report, indent=2))
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

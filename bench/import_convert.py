"""Import-with-conversion benchmark: a qcow2 imported into the file store as raw.

In one run, on the same file:

* the limit: ``qemu-img convert -f qcow2 -O raw`` of the file alone, into a file
  on the same disk (no hashing, no HTTP);
* glance: ``PUT /v2/images/{id}/stage`` then ``POST /v2/images/{id}/import``
  (glance-direct) with ``image_import_plugins = [image_conversion]``, ``output_format
  = raw``; the import is timed from the POST until the image is ``active``, and the
  staging directory is sampled meanwhile (its peak size shows whether a second copy
  was written beside the staged file);
* with ``--glance33``: the same calls against OpenStack Glance 33.0.0 itself
  (tests/glance33 harness, uwsgi, its own virtualenv ``$GLANCE33_VENV``), which
  converts into a file in the staging area and then copies that file to the store.

The image is a ``--size-mib`` raw disk of random bytes (incompressible: the qcow2
is as large as the disk) turned into a qcow2 by qemu-img. Both servers hash md5 and
sha512 on the way to the store; the limit does not, so the ratio includes that.

Usage: ``.venv/bin/python bench/import_convert.py [--size-mib 1024] [--glance33]``
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import helpers  # noqa: E402 - after the path is set

HEADERS = {"X-Roles": "admin,member,reader", "X-Project-Id": "bench", "X-User-Id": "u",
           "X-Identity-Status": "Confirmed"}
MIB = 1024 * 1024
PLUGIN = {"image_import_opts": {"image_import_plugins": "[image_conversion]"},
          "image_conversion": {"output_format": "raw"}}


def settle() -> None:
    """Flush the dirty pages of the previous phase before the next is timed."""
    os.sync()
    time.sleep(1)


def make_images(work: Path, size: int) -> tuple[Path, str]:
    raw, qcow2 = work / "disk.raw", work / "disk.qcow2"
    with raw.open("wb") as out:
        for _ in range(size // MIB):
            out.write(os.urandom(MIB))
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw),
                    str(qcow2)], check=True)
    digest = hashlib.sha512()
    with raw.open("rb") as handle:
        while chunk := handle.read(4 * MIB):
            digest.update(chunk)
    raw.unlink()
    return qcow2, digest.hexdigest()


def time_qemu_img(qcow2: Path, work: Path) -> float:
    out = work / "limit.raw"
    settle()
    start = time.perf_counter()
    subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", str(qcow2),
                    str(out)], check=True)
    os.sync()  # the servers' store writes are on disk when they answer: same here
    seconds = time.perf_counter() - start
    out.unlink()
    return seconds


class Sampler:
    """Peak total size of the files in a directory, sampled every 20 ms."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for root, _dirs, files in os.walk(self.directory):
                for name in files:
                    try:
                        total += os.stat(os.path.join(root, name)).st_blocks * 512
                    except FileNotFoundError:
                        pass
            self.peak = max(self.peak, total)
            time.sleep(0.02)

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()


def import_once(url: str, qcow2: Path, staging: Path, expected_sha512: str) -> dict:
    """Stage then import; seconds of each and the staging directory's peak."""
    created = requests.post(f"{url}/v2/images", headers=HEADERS, json={
        "name": "bench", "disk_format": "qcow2", "container_format": "bare"})
    created.raise_for_status()
    image_id = created.json()["id"]
    settle()
    start = time.perf_counter()
    subprocess.run(["curl", "-sf", "-o", "/dev/null", "-X", "PUT", "-T", str(qcow2),
                    "-H", "Content-Type: application/octet-stream",
                    *[arg for k, v in HEADERS.items() for arg in ("-H", f"{k}: {v}")],
                    f"{url}/v2/images/{image_id}/stage"], check=True)
    staged = time.perf_counter() - start
    settle()
    with Sampler(staging) as sampler:
        start = time.perf_counter()
        response = requests.post(f"{url}/v2/images/{image_id}/import", headers=HEADERS,
                                 json={"method": {"name": "glance-direct"}})
        response.raise_for_status()
        while True:
            image = requests.get(f"{url}/v2/images/{image_id}", headers=HEADERS).json()
            if image["status"] in ("active", "queued"):
                break
            time.sleep(0.05)
        imported = time.perf_counter() - start
    if image["status"] != "active" or image["os_hash_value"] != expected_sha512:
        raise RuntimeError(f"import did not give the expected raw image: {image}")
    return {"stage_s": round(staged, 2), "import_s": round(imported, 2),
            "staging_peak_mib": round(sampler.peak / MIB), "disk_format":
            image["disk_format"], "size": image["size"]}


def run_glance(work: Path, qcow2: Path, expected: str) -> dict:
    config = helpers.write_config(work / "glance", PLUGIN)
    server = helpers.Server(config).start()
    try:
        return import_once(server.url, qcow2, server.state_path / "staging", expected)
    finally:
        server.stop()


def run_glance33(work: Path, qcow2: Path, expected: str) -> dict:
    from tests.glance33 import harness  # noqa: PLC0415 - optional part
    from tests.glance33.server import Glance33  # noqa: PLC0415
    directory = work / "glance33"
    directory.mkdir()
    server = Glance33(directory, {**PLUGIN, "wsgi": {
        "python_interpreter": str(harness.python())}}).start()
    try:
        return import_once(server.url, qcow2, directory / "staging", expected)
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--glance33", action="store_true",
                        help="also time OpenStack Glance 33's staging-then-convert path")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="glance-bench-convert-"))
    try:
        qcow2, expected = make_images(work, args.size_mib * MIB)
        results: dict = {"size_mib": args.size_mib,
                         "qcow2_file_mib": round(qcow2.stat().st_size / MIB)}
        results["qemu_img_convert_s"] = round(time_qemu_img(qcow2, work), 2)
        results["glance"] = run_glance(work, qcow2, expected)
        if args.glance33:
            results["glance33"] = run_glance33(work, qcow2, expected)
        limit = results["qemu_img_convert_s"]
        for name in ("glance", "glance33"):
            if name in results:
                results[name]["import_vs_qemu_img"] = round(
                    results[name]["import_s"] / limit, 2)
        print(json.dumps(results, indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

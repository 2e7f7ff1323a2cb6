"""A client load for a mixed cluster: every request goes to the next server in turn.

Each worker thread repeats one life of an image, its requests spread over the servers
(an image created on one is uploaded through the other, downloaded through the first,
and so on): create, upload, show, download, PATCH, tag removal and re-adding, sharing
(add, accept, remove, add again), listings, and for some images a stage on one side and
the glance-direct import on the other, or a delete. Every answer is checked (status,
checksums, data); any other answer is a failure. :class:`Tally` counts requests per
server, and keeps what the surviving images must look like for the final check.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import requests

from tests import helpers
from tests.glance33.server import identity

MEMBER = identity("member,reader", helpers.PROJECT_1)
OTHER = identity("member,reader", helpers.PROJECT_2, user="u2")
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
OCTETS = {"Content-Type": "application/octet-stream"}


class Unexpected(Exception):
    """An answer the load did not expect."""


@dataclass
class Expected:
    """What a surviving image must look like, from every server."""

    md5: str
    size: int
    name: str
    tags: set[str]
    properties: dict[str, str]


@dataclass
class Tally:
    requests: Counter = field(default_factory=Counter)  # server name -> requests
    failures: list[str] = field(default_factory=list)
    images: dict[str, Expected] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class MixedLoad:
    """``threads`` workers for ``duration`` seconds against ``servers`` (name -> URL)."""

    def __init__(self, servers: dict[str, str], threads: int = 3, duration: float = 30,
                 seed: int = 33) -> None:
        self.servers = list(servers.items())
        self.threads = threads
        self.duration = duration
        self.seed = seed
        self.tally = Tally()
        self.run_id = uuid.uuid4().hex[:8]  # labels unique across runs on one database
        self._stop = threading.Event()

    def stop(self) -> None:
        """End the run early (from another thread)."""
        self._stop.set()

    def run(self) -> Tally:
        workers = [threading.Thread(target=self._work, args=(n,), daemon=True)
                   for n in range(self.threads)]
        for worker in workers:
            worker.start()
        self._stop.wait(self.duration)
        self._stop.set()
        for worker in workers:
            worker.join(timeout=180)
        return self.tally

    # -- one worker ----------------------------------------------------------------------

    def _work(self, number: int) -> None:
        rng = random.Random(self.seed + number)
        turn = itertools.cycle(self.servers[number % len(self.servers):]
                               + self.servers[:number % len(self.servers)])
        cycle = 0
        while not self._stop.is_set():
            try:
                self._life(rng, turn, f"{self.run_id}-w{number}-{cycle}", cycle)
            except Unexpected as err:
                with self.tally.lock:
                    self.tally.failures.append(str(err))
            except requests.RequestException as err:
                with self.tally.lock:
                    self.tally.failures.append(f"{type(err).__name__}: {err}")
            cycle += 1

    def _call(self, turn, method: str, path: str, expect: int, **kwargs) -> requests.Response:
        name, url = next(turn)
        kwargs.setdefault("headers", MEMBER)
        response = requests.request(method, url + path, timeout=120, **kwargs)
        with self.tally.lock:
            self.tally.requests[name] += 1
        if response.status_code != expect:
            raise Unexpected(f"{name}: {method} {path} -> {response.status_code} "
                             f"(expected {expect}): {response.text[:300]}")
        return response

    def _life(self, rng: random.Random, turn, label: str, cycle: int) -> None:
        data = rng.randbytes(rng.randint(16, 128) * 1024)
        md5 = hashlib.md5(data).hexdigest()
        created = self._call(turn, "POST", "/v2/images", 201, json={
            "name": label, "disk_format": "raw", "container_format": "bare",
            "tags": ["l1", "l2"], "load": label})
        image_id = created.json()["id"]
        path = f"/v2/images/{image_id}"
        if cycle % 4 == 3:
            self._stage_and_import(turn, path, data)
        else:
            self._call(turn, "PUT", f"{path}/file", 204, data=data,
                       headers={**MEMBER, **OCTETS})
        shown = self._call(turn, "GET", path, 200).json()
        if (shown["status"], shown["checksum"], shown["size"]) != ("active", md5, len(data)):
            raise Unexpected(f"{image_id} after upload: {shown}")
        self._check_data(turn, image_id, data)
        patched = self._call(turn, "PATCH", path, 200, headers={**MEMBER, **PATCH}, json=[
            {"op": "replace", "path": "/name", "value": f"{label}-renamed"},
            {"op": "add", "path": "/color", "value": rng.choice(["red", "blue"])}]).json()
        self._call(turn, "DELETE", f"{path}/tags/l1", 204)
        self._call(turn, "PUT", f"{path}/tags/l3", 204)
        self._call(turn, "PUT", f"{path}/tags/l1", 204)
        members = f"{path}/members"
        self._call(turn, "POST", members, 200, json={"member": helpers.PROJECT_2})
        self._call(turn, "PUT", f"{members}/{helpers.PROJECT_2}", 200, headers=OTHER,
                   json={"status": "accepted"})
        self._call(turn, "DELETE", f"{members}/{helpers.PROJECT_2}", 204)
        self._call(turn, "POST", members, 200, json={"member": helpers.PROJECT_2})
        self._call(turn, "GET", path, 200, headers=OTHER)
        listed = self._call(turn, "GET", f"/v2/images?load={label}", 200).json()["images"]
        if [image["id"] for image in listed] != [image_id]:
            raise Unexpected(f"listing by property load={label}: {listed}")
        self._call(turn, "GET", "/v2/images?tag=l3&limit=5&sort=created_at:desc", 200)
        if cycle % 3 == 2:
            self._call(turn, "DELETE", path, 204)
            self._call(turn, "GET", path, 404)
            with self.tally.lock:
                self.tally.deleted.append(image_id)
            return
        with self.tally.lock:
            self.tally.images[image_id] = Expected(
                md5, len(data), f"{label}-renamed", {"l1", "l2", "l3"},
                {"load": label, "color": patched["color"]})

    def _stage_and_import(self, turn, path: str, data: bytes) -> None:
        self._call(turn, "PUT", f"{path}/stage", 204, data=data,
                   headers={**MEMBER, **OCTETS})
        self._call(turn, "POST", f"{path}/import", 202,
                   json={"method": {"name": "glance-direct"}})
        # Polled through the image: Glance's task listings write (they soft-delete
        # expired tasks), and on SQLite a write next to its import kills the import.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = self._call(turn, "GET", path, 200).json()["status"]
            if status not in ("uploading", "importing"):
                break
            time.sleep(0.3)
        else:
            raise Unexpected(f"import of {path} did not end in 60 s")
        while time.monotonic() < deadline:  # the task ends just after the image
            tasks = self._call(turn, "GET", f"{path}/tasks", 200).json()["tasks"]
            if tasks and tasks[-1]["status"] == "success":
                return
            if tasks and tasks[-1]["status"] == "failure":
                raise Unexpected(f"import of {path}: {tasks[-1]}")
            time.sleep(0.3)
        raise Unexpected(f"the import task of {path} did not end in 60 s")

    def _check_data(self, turn, image_id: str, data: bytes) -> None:
        body = self._call(turn, "GET", f"/v2/images/{image_id}/file", 200).content
        if body != data:
            raise Unexpected(f"{image_id}: downloaded {len(body)} bytes, not the "
                             f"{len(data)} uploaded")

"""Three glance-api nodes behind haproxy on one PostgreSQL database (tests/cluster/harness.py).

The same tests run again on RBD as the default store (test_cluster_rbd.py) and on
a three-node Galera with RBD (test_cluster_galera.py): they reach the cluster only
through the ``cluster`` fixture (``cluster.store_objects()`` lists the default
store, ``cluster.db_url`` is a database URL of node 1).

* distributed import: data staged on one node, the import (or delete) call taken by
  another is forwarded to the stage host; 504 when that host is gone;
* the centralized_db cache: ``GET /v2/cache/nodes/{id}`` on any node sees every node;
* the store data suite through the load balancer;
* two uploads of one image on two nodes at once: one wins, the other gets 409;
* kill -9 of a node under a 16-client load (last: it restarts the node at the end).
"""

import copy
import hashlib
import threading
import time
from dataclasses import dataclass

import pytest
import requests
import sqlalchemy as sa

from tests import helpers
from tests.stores.suite import StoreDataSuite

OCTET = {"Content-Type": "application/octet-stream"}
TIMEOUT = 60


def _create(url: str, **extra) -> str:
    response = requests.post(f"{url}/v2/images", headers=helpers.MEMBER, timeout=TIMEOUT,
                             json={"name": "c", "disk_format": "raw",
                                   "container_format": "bare", **extra})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _show(url: str, image_id: str) -> dict:
    response = requests.get(f"{url}/v2/images/{image_id}", headers=helpers.ADMIN,
                            timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


def _stage(node, image_id: str, data: bytes) -> None:
    response = requests.put(f"{node.url}/v2/images/{image_id}/stage", data=data,
                            headers={**helpers.MEMBER, **OCTET}, timeout=TIMEOUT)
    assert response.status_code == 204, response.text


def _staged(node, image_id: str) -> bool:
    return (node.server.config_path.parent / "staging" / image_id).exists()


def _import(url: str, image_id: str) -> requests.Response:
    return requests.post(f"{url}/v2/images/{image_id}/import", headers=helpers.MEMBER,
                         json={"method": {"name": "glance-direct"}}, timeout=TIMEOUT)


def _sql(cluster, statement: str, **params) -> list:
    engine = sa.create_engine(cluster.db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            result = connection.execute(sa.text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


# -- distributed import ---------------------------------------------------------------


def test_import_on_another_node_is_forwarded_to_the_stage_host(cluster):
    node_a, node_b = cluster.nodes[0], cluster.nodes[1]
    image_id = _create(cluster.url)
    data = b"staged on a" * 10000
    _stage(node_a, image_id, data)
    assert _staged(node_a, image_id) and not _staged(node_b, image_id)
    # Recorded in the database, never shown.
    assert _sql(cluster, "SELECT value FROM image_properties WHERE image_id = :i AND "
                "name = 'os_glance_stage_host'", i=image_id) == [(node_a.url,)]
    assert "os_glance_stage_host" not in _show(node_b.url, image_id)
    response = _import(node_b.url, image_id)
    assert response.status_code == 202, response.text
    # The request id is the stage host's, as Glance answers.
    tasks = requests.get(f"{node_b.url}/v2/images/{image_id}/tasks", headers=helpers.ADMIN,
                         timeout=TIMEOUT).json()["tasks"]
    assert [t["request_id"] for t in tasks] == [response.headers["x-openstack-request-id"]]
    assert helpers.wait_until(lambda: _show(cluster.url, image_id)["status"] == "active")
    image = _show(cluster.url, image_id)
    assert image["checksum"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert not _staged(node_a, image_id)
    assert requests.get(f"{node_b.url}/v2/images/{image_id}/file", headers=helpers.MEMBER,
                        timeout=TIMEOUT).content == data
    # The stage host is dropped once the import starts (as Glance does).
    assert not _sql(cluster, "SELECT value FROM image_properties WHERE image_id = :i AND "
                    "name = 'os_glance_stage_host' AND NOT deleted", i=image_id)


def test_import_checks_run_on_the_receiving_node_first(cluster):
    node_a, node_b = cluster.nodes[0], cluster.nodes[1]
    image_id = _create(cluster.url)
    _stage(node_a, image_id, b"x" * 1000)
    response = requests.post(f"{node_b.url}/v2/images/{image_id}/import",
                             headers=helpers.MEMBER, timeout=TIMEOUT,
                             json={"method": {"name": "glance-direct"}, "stores": ["nope"]})
    assert response.status_code in (400, 409), response.text
    assert _staged(node_a, image_id)
    other = requests.post(f"{node_b.url}/v2/images/{image_id}/import",
                          headers=helpers.OTHER_MEMBER, timeout=TIMEOUT,
                          json={"method": {"name": "glance-direct"}})
    assert other.status_code == 404, other.text
    assert _show(cluster.url, image_id)["status"] == "uploading"


def test_delete_on_another_node_removes_the_staged_data(cluster):
    node_a, node_c = cluster.nodes[0], cluster.nodes[2]
    image_id = _create(cluster.url)
    _stage(node_a, image_id, b"y" * 5000)
    response = requests.delete(f"{node_c.url}/v2/images/{image_id}", headers=helpers.MEMBER,
                               timeout=TIMEOUT)
    assert response.status_code == 204, response.text
    assert not _staged(node_a, image_id)
    assert requests.get(f"{cluster.url}/v2/images/{image_id}", headers=helpers.MEMBER,
                        timeout=TIMEOUT).status_code == 404


def test_stage_host_gone(cluster):
    """Import: 504 'Stage host is unavailable' (Glance's answer); delete: done here."""
    node_a, node_b = cluster.nodes[0], cluster.nodes[1]
    image_id = _create(cluster.url)
    _stage(node_a, image_id, b"z" * 5000)
    gone = f"http://127.0.0.1:{helpers.free_port()}"
    _sql(cluster, "UPDATE image_properties SET value = :v WHERE image_id = :i AND "
         "name = 'os_glance_stage_host'", v=gone, i=image_id)
    response = _import(node_b.url, image_id)
    assert response.status_code == 504, response.text
    assert "Stage host is unavailable" in response.text
    assert _show(cluster.url, image_id)["status"] == "uploading"
    deleted = requests.delete(f"{node_b.url}/v2/images/{image_id}", headers=helpers.MEMBER,
                              timeout=TIMEOUT)
    assert deleted.status_code == 204, deleted.text
    assert requests.get(f"{cluster.url}/v2/images/{image_id}", headers=helpers.MEMBER,
                        timeout=TIMEOUT).status_code == 404


def test_stage_host_refusal_is_passed_on(cluster):
    """The stage host answers 409 (its staged data is gone): the client sees 409."""
    node_a, node_b = cluster.nodes[0], cluster.nodes[1]
    image_id = _create(cluster.url)
    _stage(node_a, image_id, b"w" * 5000)
    (node_a.server.config_path.parent / "staging" / image_id).unlink()
    response = _import(node_b.url, image_id)
    assert response.status_code == 409, response.text
    assert "needs to be staged" in response.text  # the stage host's message


# -- the centralized_db cache ---------------------------------------------------------


def _cache(node, image_id: str) -> None:
    response = requests.put(f"{node.url}/v2/cache/{image_id}", headers=helpers.ADMIN,
                            timeout=TIMEOUT)
    assert response.status_code == 202, response.text


def _cache_nodes(url: str, image_id: str, headers=helpers.ADMIN) -> requests.Response:
    return requests.get(f"{url}/v2/cache/nodes/{image_id}", headers=headers,
                        timeout=TIMEOUT)


def test_cache_nodes_lists_every_node_caching_the_image(cluster):
    image_id = _create(cluster.url)
    requests.put(f"{cluster.url}/v2/images/{image_id}/file", data=b"c" * 20000,
                 headers={**helpers.MEMBER, **OCTET}, timeout=TIMEOUT).raise_for_status()
    assert _cache_nodes(cluster.url, image_id).json() == []
    first, third = cluster.nodes[0], cluster.nodes[2]
    for node in (first, third):
        _cache(node, image_id)
    expected = sorted([first.url, third.url])
    assert helpers.wait_until(lambda: sorted(_cache_nodes(cluster.nodes[1].url, image_id)
                                             .json()) == expected, timeout=30)
    response = _cache_nodes(cluster.url, image_id)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    # Each node lists only its own cache (which may hold the images of other tests:
    # a node caches what it downloads from a store that is not a local file, RBD).
    def listed(node) -> list[str]:
        return [entry["image_id"] for entry in requests.get(
            f"{node.url}/v2/cache", headers=helpers.ADMIN,
            timeout=TIMEOUT).json()["cached_images"]]

    assert image_id in listed(first)
    assert image_id not in listed(cluster.nodes[1])
    # Removing it from one node's cache removes that node only.
    assert requests.delete(f"{first.url}/v2/cache/{image_id}", headers=helpers.ADMIN,
                           timeout=TIMEOUT).status_code == 204
    assert _cache_nodes(cluster.url, image_id).json() == [third.url]
    # Deleting the image forgets it on the node that takes the call.
    assert requests.delete(f"{third.url}/v2/images/{image_id}", headers=helpers.MEMBER,
                           timeout=TIMEOUT).status_code == 204
    assert not _sql(cluster, "SELECT id FROM cached_images WHERE image_id = :i", i=image_id)


def test_cache_nodes_bad_requests(cluster):
    image_id = _create(cluster.url)
    assert _cache_nodes(cluster.url, image_id, helpers.MEMBER).status_code == 403
    unknown = _cache_nodes(cluster.url, "00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 404
    assert unknown.headers["Content-Type"].startswith(("application/json", "text/plain"))
    assert requests.post(f"{cluster.url}/v2/cache/nodes/{image_id}", headers=helpers.ADMIN,
                         timeout=TIMEOUT).status_code == 405
    with_body = requests.get(f"{cluster.url}/v2/cache/nodes/{image_id}", data=b"{}",
                             headers={**helpers.ADMIN, "Content-Type": "application/json"},
                             timeout=TIMEOUT)
    assert with_body.status_code == 400


# -- the store data suite through the load balancer ------------------------------------


@pytest.fixture(scope="module")
def store_server(cluster):
    """Node 1's configuration, reached through haproxy."""
    front = copy.copy(cluster.nodes[0].server)
    front.url, front.port = cluster.url, cluster.port
    return front


@pytest.fixture(scope="module")
def store_objects(cluster):
    return cluster.store_objects


class TestClusterData(StoreDataSuite):
    """Every suite test through haproxy, whichever node takes each call."""


def _race_uploads(nodes, image_id: str, bodies: dict[str, bytes]) -> dict[str, tuple]:
    """PUT ``bodies[node.name]`` on each node at once; node name -> (status, text)."""
    answers: dict[str, tuple] = {}
    barrier = threading.Barrier(len(nodes))

    def upload(node) -> None:
        barrier.wait()
        response = requests.put(f"{node.url}/v2/images/{image_id}/file",
                                data=bodies[node.name], timeout=TIMEOUT,
                                headers={**helpers.MEMBER, **OCTET})
        answers[node.name] = (response.status_code, response.text[:200])

    threads = [threading.Thread(target=upload, args=(node,)) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_concurrent_uploads_of_one_image_on_two_nodes(cluster):
    """Two nodes take an upload of the same image at once: one wins, the other is
    refused (on Galera the two nodes' ``queued -> saving`` updates meet at
    certification: the loser's is retried and finds the image taken)."""
    for _ in range(3):
        image_id = _create(cluster.url)
        bodies = {node.name: node.name.encode() * 200000 for node in cluster.nodes[:2]}
        answers = _race_uploads(cluster.nodes[:2], image_id, bodies)
        winners = [name for name, (status, _text) in answers.items() if status == 204]
        assert len(winners) == 1 and sorted(s for s, _t in answers.values()) == [
            204, 409], answers
        image = _show(cluster.url, image_id)
        assert image["status"] == "active"
        assert image["checksum"] == hashlib.md5(bodies[winners[0]],
                                                usedforsecurity=False).hexdigest()
        assert len(_sql(cluster, "SELECT id FROM image_locations WHERE image_id = :i AND "
                        "NOT deleted", i=image_id)) == 1
        assert len([o for o in cluster.store_objects() if image_id in o]) == 1


def test_the_load_is_spread(cluster):
    served = {requests.get(f"{cluster.url}/v2/images", headers=helpers.MEMBER,
                           timeout=TIMEOUT).headers["X-Served-By"] for _ in range(9)}
    assert served == {node.name for node in cluster.nodes}


# -- kill -9 under load (last: restarts the node) --------------------------------------


@dataclass
class Call:
    kind: str
    started: float
    ended: float = 0.0
    status: int | None = None
    error: str | None = None
    image_id: str | None = None
    served_by: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 500


def _slow_body(data: bytes, pause: float):
    for start in range(0, len(data), 65536):
        yield data[start:start + 65536]
        time.sleep(pause)


class Load:
    """16 clients through haproxy: 12 on metadata, 4 uploading slowly."""

    def __init__(self, url: str, images: list[str]) -> None:
        self.url, self.images = url, images
        self.calls: list[Call] = []
        self.uploads: dict[str, bytes] = {}
        self.stop = threading.Event()
        self._lock = threading.Lock()

    def _call(self, kind: str, method: str, path: str, **kwargs) -> Call:
        call = Call(kind, time.monotonic())
        try:
            response = requests.request(method, self.url + path, timeout=TIMEOUT, **kwargs)
            call.status, call.served_by = response.status_code, response.headers.get(
                "X-Served-By")
            if kind == "create" and response.status_code == 201:
                call.image_id = response.json()["id"]
        except requests.RequestException as err:
            call.error = type(err).__name__
        call.ended = time.monotonic()
        with self._lock:
            self.calls.append(call)
        return call

    def metadata_client(self, index: int) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            image_id = self.images[(index + n) % len(self.images)]
            if n % 3 == 0:
                self._call("list", "GET", "/v2/images?limit=5", headers=helpers.MEMBER)
            elif n % 3 == 1:
                self._call("show", "GET", f"/v2/images/{image_id}", headers=helpers.MEMBER)
            else:
                self._call("create", "POST", "/v2/images", headers=helpers.MEMBER,
                           json={"name": f"load-{index}-{n}", "disk_format": "raw",
                                 "container_format": "bare"})

    def upload_client(self, index: int) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            created = self._call("create", "POST", "/v2/images", headers=helpers.MEMBER,
                                 json={"name": f"up-{index}-{n}", "disk_format": "raw",
                                       "container_format": "bare"})
            if created.image_id is None:
                continue
            data = f"{created.image_id}".encode() * 40000  # ~1.4 MiB, ~1 s to send
            with self._lock:
                self.uploads[created.image_id] = data
            call = self._call("upload", "PUT", f"/v2/images/{created.image_id}/file",
                              headers={**helpers.MEMBER, **OCTET},
                              data=_slow_body(data, 0.04))
            call.image_id = created.image_id

    def run(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self.metadata_client, args=(i,))
                   for i in range(12)]
        threads += [threading.Thread(target=self.upload_client, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        return threads


def _uploading_on(cluster) -> dict[str, str]:
    """image id -> node URL of the uploads in progress (the database says)."""
    return dict(_sql(cluster, "SELECT p.image_id, p.value FROM image_properties p JOIN "
                     "images i ON i.id = p.image_id WHERE p.name = 'os_glance_upload_host' "
                     "AND i.status = 'saving' AND NOT p.deleted"))


def test_kill_one_node_under_load(cluster, record_property):
    baseline = {}
    for _ in range(4):
        image_id = _create(cluster.url)
        data = image_id.encode() * 3000
        requests.put(f"{cluster.url}/v2/images/{image_id}/file", data=data,
                     headers={**helpers.MEMBER, **OCTET}, timeout=TIMEOUT).raise_for_status()
        baseline[image_id] = data
    load = Load(cluster.url, list(baseline))
    threads = load.run()
    try:
        # Kill a node while it is writing an upload.
        assert helpers.wait_until(lambda: len(set(_uploading_on(cluster).values())) >= 1,
                                  timeout=30, interval=0.05)
        time.sleep(1.0)
        uploading = _uploading_on(cluster)
        while not uploading:
            uploading = _uploading_on(cluster)
        victim_url = next(iter(uploading.values()))
        victim = cluster.node_by_url(victim_url)
        killed_at = time.monotonic()
        dead_at = cluster.kill(victim)
        assert helpers.wait_until(lambda: cluster.states()[victim.name] == "DOWN",
                                  timeout=10, interval=0.02)
        drained = time.monotonic() - killed_at
        time.sleep(6)
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(timeout=TIMEOUT)
    record_property("drain_seconds", round(drained, 2))
    print(f"haproxy marked {victim.name} DOWN {drained:.2f} s after kill -9")
    assert drained < 3.0
    failed = [c for c in load.calls if not c.ok]
    after = [c for c in load.calls if c.started > dead_at]
    # Only calls in flight while the node died failed; every call started once its
    # processes were gone succeeded (haproxy sends them elsewhere, even before it
    # marks the node down).
    outside = [c for c in failed if not (c.started < dead_at and c.ended > killed_at)]
    assert not outside, [(c.kind, round(c.started - killed_at, 3),
                          round(c.ended - killed_at, 3), c.status, c.error) for c in outside]
    print(f"{len(failed)} calls failed (in flight on {victim.name}), {len(after)} started "
          f"after its death all succeeded; its processes were gone "
          f"{dead_at - killed_at:.3f} s after kill -9")
    assert len(failed) <= 16
    assert len(after) > 50 and all(c.ok for c in after)
    assert victim.name not in {c.served_by for c in after}
    # The victim's interrupted uploads are reset by the other nodes, nothing left behind.
    interrupted = {c.image_id for c in failed if c.kind == "upload"} | {
        i for i, url in uploading.items() if url == victim_url}

    # An upload cut off after its image became active stays active (the client saw 502
    # but the data is whole); the others go back to queued with no data left.
    def settled() -> bool:
        return all(_show(cluster.url, i)["status"] in ("queued", "active")
                   for i in interrupted)

    # RBD: Ceph refuses to remove the partial image while the dead writer's watch lasts
    # (osd_client_watch_timeout, 30 s); the survivors try again every few seconds.
    assert helpers.wait_until(settled, timeout=90), [
        (i, _show(cluster.url, i)["status"]) for i in interrupted]
    reset = {i for i in interrupted if _show(cluster.url, i)["status"] == "queued"}
    assert reset, "no upload of the victim was interrupted"
    assert not reset & cluster.store_objects()
    for image_id in interrupted - reset:
        assert _show(cluster.url, image_id)["checksum"] == hashlib.md5(
            load.uploads[image_id], usedforsecurity=False).hexdigest()
    for image_id in reset:  # and can be uploaded again
        data = b"again" * 1000
        response = requests.put(f"{cluster.url}/v2/images/{image_id}/file", data=data,
                                headers={**helpers.MEMBER, **OCTET}, timeout=TIMEOUT)
        assert response.status_code == 204, response.text
    # Nothing lost: every image created is there, every upload that succeeded is intact.
    for call in load.calls:
        if call.kind == "create" and call.ok and call.status == 201:
            assert _show(cluster.url, call.image_id)["id"] == call.image_id
    done = [c for c in load.calls if c.kind == "upload" and c.status == 204]
    assert done
    for call in done + [Call("base", 0, image_id=i) for i in baseline]:
        data = load.uploads.get(call.image_id) or baseline[call.image_id]
        image = _show(cluster.url, call.image_id)
        assert image["status"] == "active"
        assert image["checksum"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
    # The node comes back and haproxy sends it calls again.
    cluster.restart(victim)
    assert helpers.wait_until(lambda: cluster.states()[victim.name] == "UP", timeout=15)

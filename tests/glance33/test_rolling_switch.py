"""A rolling switch from OpenStack Glance 33 to glance, on SQLite, MariaDB and PostgreSQL.

1. Glance creates its database with its own glance-manage (``db sync``,
   ``db load_metadefs``) and fills it through its API under uwsgi: images with data,
   properties, tags, members, a second (http) location, glance-direct and web-download
   imports, a failed legacy import task, deactivated, queued and deleted images, a
   removed tag, member and property, a metadef namespace of its own.
2. Our ``glance-manage db sync`` adopts the database while Glance serves it (it stops
   before contract); on MariaDB and PostgreSQL a client keeps using Glance meanwhile.
3. Our glance-api starts on the same database, file store and staging directory, and a
   client load alternates every request between the two servers. No request may fail;
   afterwards every image, task, member list and metadef reads the same from both, and
   every image's data has its checksum on both.
4. Glance stops; ``db contract`` first refuses (Glance wrote minutes ago), then runs with
   ``--force`` while a client keeps using our server; everything still reads the same,
   and the schema is the one a fresh database has.

On SQLite the client load is one request at a time: Glance 33 on SQLite fails about a
third of its writes with "database is locked" as soon as two requests write at once
(whichever server the other one reaches), so a concurrent load would measure Glance's
SQLite locking, not the switch. ``GLANCE33_SWITCH_SECONDS`` sets the load's length.
"""

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from glance.db.sqlalchemy import models
from tests import helpers
from tests.functional.db.conftest import BACKENDS, create_database
from tests.functional.db.manage_helpers import manage
from tests.functional.http_source import HTTPSource
from tests.glance33 import harness
from tests.glance33.harness import glance_manage
from tests.glance33.load import MEMBER, OCTETS, OTHER, PATCH, MixedLoad
from tests.glance33.server import Glance33, identity

ADMIN = identity("admin,member,reader", helpers.PROJECT_1)
SECONDS = float(os.environ.get("GLANCE33_SWITCH_SECONDS", "30"))
WEB_DATA = os.urandom(40 * 1024)


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def db_url(backend, tmp_path):
    yield from create_database(backend, tmp_path)


class Cluster:
    """The shared pieces (database, file store, staging) and each side's config."""

    def __init__(self, root: Path, db_url: str, web_url: str) -> None:
        self.db_url = db_url
        for name in ("images", "staging", "tasks"):
            (root / name).mkdir()
        shared = {
            "DEFAULT": {"enabled_backends": "fs:file, web:http",
                        "show_multiple_locations": "True"},
            "database": {"connection": db_url},
            "glance_store": {"default_backend": "fs"},
            "fs": {"filesystem_store_datadir": root / "images"},
            "os_glance_staging_store": {"filesystem_store_datadir": root / "staging"},
            "os_glance_tasks_store": {"filesystem_store_datadir": root / "tasks"},
            "import_filtering_opts": {"allowed_hosts": "[127.0.0.1]", "allowed_ports": "[]"},
        }
        # The same options on both sides (Glance's also names its log file and its
        # worker_self_reference_url: Glance then records where an image was staged).
        self.glance = Glance33(root / "glance", shared)
        self.ours_config = helpers.write_config(root / "ours", shared)
        self.web_url = web_url
        self.ours: helpers.Server | None = None


def _ok(response: requests.Response, status: int) -> requests.Response:
    assert response.status_code == status, (response.request.method, response.url,
                                            response.status_code, response.text[:500])
    return response


def _create(url: str, **body) -> str:
    body = {"disk_format": "raw", "container_format": "bare", **body}
    return _ok(requests.post(f"{url}/v2/images", json=body, headers=MEMBER), 201).json()["id"]


def _upload(url: str, image_id: str, data: bytes) -> None:
    _ok(requests.put(f"{url}/v2/images/{image_id}/file", data=data,
                     headers={**MEMBER, **OCTETS}), 204)


def _wait_task(url: str, task_id: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        task = _ok(requests.get(f"{url}/v2/tasks/{task_id}", headers=ADMIN), 200).json()
        if task["status"] in ("success", "failure"):
            return task
        time.sleep(0.5)
    raise AssertionError(f"task {task_id} did not end")


def _import(url: str, image_id: str, method: dict) -> None:
    _ok(requests.post(f"{url}/v2/images/{image_id}/import", json={"method": method},
                      headers=MEMBER), 202)
    # Polled through the image (see load.MixedLoad._stage_and_import), then the task.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        image = _ok(requests.get(f"{url}/v2/images/{image_id}", headers=MEMBER), 200).json()
        if image["status"] not in ("queued", "uploading", "importing"):
            break
        time.sleep(0.5)
    while time.monotonic() < deadline:
        tasks = _ok(requests.get(f"{url}/v2/images/{image_id}/tasks", headers=MEMBER),
                    200).json()["tasks"]
        if tasks and tasks[-1]["status"] in ("success", "failure"):
            assert tasks[-1]["status"] == "success", tasks[-1]
            return
        time.sleep(0.5)
    raise AssertionError(f"import of {image_id} did not end")


def populate(url: str, web_url: str) -> dict[str, list[str]]:
    """Glance's own data, through Glance's API; returns ids by kind."""
    made: dict[str, list[str]] = {"images": [], "deleted": [], "tasks": []}
    shared = _create(url, name="shared", os_distro="ubuntu", tags=["a", "b"], purpose="x")
    _upload(url, shared, os.urandom(96 * 1024))
    _ok(requests.post(f"{url}/v2/images/{shared}/members", json={"member": helpers.PROJECT_2},
                      headers=MEMBER), 200)
    _ok(requests.put(f"{url}/v2/images/{shared}/members/{helpers.PROJECT_2}",
                     json={"status": "accepted"}, headers=OTHER), 200)
    two = _create(url, name="two-locations")
    _upload(url, two, WEB_DATA)
    _ok(requests.patch(f"{url}/v2/images/{two}", headers={**MEMBER, **PATCH}, json=[
        {"op": "add", "path": "/locations/-",
         "value": {"url": f"{web_url}/web.raw", "metadata": {}}}]), 200)
    staged = _create(url, name="glance-direct")
    _ok(requests.put(f"{url}/v2/images/{staged}/stage", data=os.urandom(64 * 1024),
                     headers={**MEMBER, **OCTETS}), 204)
    _import(url, staged, {"name": "glance-direct"})
    web = _create(url, name="web-download")
    _import(url, web, {"name": "web-download", "uri": f"{web_url}/web.raw"})
    task = _ok(requests.post(f"{url}/v2/tasks", headers=ADMIN, json={
        "type": "import", "input": {
            "import_from": f"{web_url}/web.raw", "import_from_format": "raw",
            "image_properties": {"name": "legacy", "disk_format": "raw",
                                 "container_format": "bare"}}}), 201).json()
    made["tasks"].append(_wait_task(url, task["id"])["id"])
    deactivated = _create(url, name="deactivated")
    _upload(url, deactivated, os.urandom(8 * 1024))
    _ok(requests.post(f"{url}/v2/images/{deactivated}/actions/deactivate",
                      headers=MEMBER), 204)
    queued = _create(url, name="queued", min_disk=3, protected=True)
    edited = _create(url, name="edited", tags=["keep", "drop"], gone="soon", stay="yes")
    _upload(url, edited, os.urandom(4 * 1024))
    _ok(requests.delete(f"{url}/v2/images/{edited}/tags/drop", headers=MEMBER), 204)
    _ok(requests.patch(f"{url}/v2/images/{edited}", headers={**MEMBER, **PATCH},
                       json=[{"op": "remove", "path": "/gone"}]), 200)
    _ok(requests.post(f"{url}/v2/images/{edited}/members", json={"member": helpers.PROJECT_2},
                      headers=MEMBER), 200)
    _ok(requests.delete(f"{url}/v2/images/{edited}/members/{helpers.PROJECT_2}",
                        headers=MEMBER), 204)
    public = _create(url, name="public")
    _ok(requests.patch(f"{url}/v2/images/{public}", headers={**ADMIN, **PATCH},
                       json=[{"op": "replace", "path": "/visibility", "value": "public"}]), 200)
    deleted = _create(url, name="deleted")
    _upload(url, deleted, os.urandom(4 * 1024))
    _ok(requests.delete(f"{url}/v2/images/{deleted}", headers=MEMBER), 204)
    made["deleted"].append(deleted)
    _ok(requests.post(f"{url}/v2/metadefs/namespaces", headers=ADMIN, json={
        "namespace": "Glance33::Own", "display_name": "made by Glance", "visibility": "public",
        "properties": {"p1": {"type": "string", "title": "P1", "enum": ["a", "b"]}},
        "objects": [{"name": "o1", "properties": {"x": {"type": "integer",
                                                        "title": "X"}}}],
        "tags": [{"name": "t1"}]}), 201)
    made["images"] += [shared, two, staged, web, deactivated, queued, edited, public]
    return made


# -- reading everything from every server --------------------------------------------------

def _normal(body: dict) -> dict:
    """Tags are a set (Glance answers them in no fixed order)."""
    body = dict(body)
    if isinstance(body.get("tags"), list):
        body["tags"] = sorted(body["tags"])
    return body


def _unordered_listing(body: dict) -> dict:
    """Glance's listing joins locations in no fixed order (on PostgreSQL it differs from
    the same image's detail); ``stores`` follows that order."""
    images = []
    for image in map(_normal, body["images"]):
        image["locations"] = sorted(image.get("locations", []), key=lambda loc: loc["url"])
        image["stores"] = ",".join(sorted(image.get("stores", "").split(",")))
        images.append(image)
    return {**body, "images": images}


def _unordered_associations(body: dict) -> dict:
    """Resource type associations come in the database's order, which differs."""
    def sort(namespace: dict) -> dict:
        associations = namespace.get("resource_type_associations")
        if associations is None:
            return namespace
        return {**namespace, "resource_type_associations": sorted(
            associations, key=lambda a: a["name"])}
    if "namespaces" in body:
        return {**body, "namespaces": [sort(ns) for ns in body["namespaces"]]}
    return sort(body)


def _differences(bodies: dict[str, object], path: str = "") -> list[str]:
    """Where the servers' bodies differ (JSON paths), for the assertion message."""
    values = list(bodies.values())
    first = values[0]
    if all(isinstance(v, dict) for v in values):
        keys = sorted(set().union(*values))
        return [line for key in keys for line in _differences(
            {name: v.get(key, "<absent>") for name, v in bodies.items()}, f"{path}/{key}")]
    if all(isinstance(v, list) for v in values) and len({len(v) for v in values}) == 1:
        return [line for n in range(len(first)) for line in _differences(
            {name: v[n] for name, v in bodies.items()}, f"{path}[{n}]")]
    if all(v == first for v in values):
        return []
    return [f"{path}: " + ", ".join(f"{name}={v!r}"[:300] for name, v in bodies.items())]


def same_everywhere(servers: dict[str, str], images: list[str], deleted: list[str],
                    tasks: list[str]) -> int:
    """Every image, its members, data, the tasks and metadefs read the same from every
    server; returns how many requests that took."""
    calls = 0

    def read(path: str, headers=ADMIN, status: int = 200) -> dict[str, requests.Response]:
        nonlocal calls
        calls += len(servers)
        return {name: _ok(requests.get(url + path, headers=headers, timeout=120), status)
                for name, url in servers.items()}

    def same(path: str, normal=lambda body: body) -> dict:
        bodies = {name: normal(r.json()) for name, r in read(path).items()}
        first = next(iter(bodies.values()))
        assert all(body == first for body in bodies.values()), (path, _differences(bodies))
        return first

    for image_id in images:
        image = same(f"/v2/images/{image_id}", _normal)
        if image["visibility"] == "shared":
            same(f"/v2/images/{image_id}/members")
        if image["status"] == "active":
            for name, response in read(f"/v2/images/{image_id}/file").items():
                assert hashlib.md5(response.content).hexdigest() == image["checksum"], name
                assert len(response.content) == image["size"], name
    for image_id in deleted:
        read(f"/v2/images/{image_id}", status=404)
    for task_id in tasks:
        same(f"/v2/tasks/{task_id}")
    listing = same("/v2/images?limit=1000&sort=created_at:asc,id:asc", _unordered_listing)
    assert set(images) <= {image["id"] for image in listing["images"]}
    same("/v2/metadefs/namespaces?limit=100", _unordered_associations)
    same("/v2/metadefs/namespaces/Glance33::Own", _unordered_associations)
    same("/v2/metadefs/namespaces/OS::Compute::Hypervisor", _unordered_associations)
    same("/v2/metadefs/resource_types")
    return calls


class Background(threading.Thread):
    """``MixedLoad(...).run()`` in a thread: ``with Background(load) as result: ...``."""

    def __init__(self, load: MixedLoad) -> None:
        super().__init__(daemon=True)
        self.load = load
        self.tally = None

    def run(self) -> None:
        self.tally = self.load.run()

    def __enter__(self) -> "Background":
        self.load.duration = 3600  # until __exit__
        self.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.load.stop()
        self.join(timeout=300)


def _schema_diff(url: str) -> list:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, models.Base.metadata)
    finally:
        engine.dispose()


def _errors(log: Path) -> str:
    """A log's ERROR lines and tracebacks (for a failing test's output)."""
    if not log.exists():
        return ""
    lines = [line for line in log.read_text(errors="replace").splitlines()
             if ("ERROR" in line or "Traceback" in line or "Error:" in line)
             and "os_brick" not in line]
    return "\n".join(lines[-40:])


def test_rolling_switch(backend, db_url, tmp_path, capsys):
    try:
        _rolling_switch(backend, db_url, tmp_path, capsys)
    except BaseException:
        for name, log in (("Glance 33", tmp_path / "glance" / "glance-api.log"),
                          ("glance", tmp_path / "ours" / "glance-api.log")):
            print(f"--- {name} errors ({log}) ---\n{_errors(log)}")
        raise


def _rolling_switch(backend: str, db_url: str, tmp_path: Path, capsys) -> None:
    started = time.monotonic()
    with HTTPSource({"/web.raw": WEB_DATA}) as web:
        cluster = Cluster(tmp_path, db_url, web.url(""))
        glance = cluster.glance
        for args in (["db", "sync"], ["db", "load_metadefs", "--path",
                                      str(harness.etc_dir() / "metadefs")]):
            result = glance_manage(glance.etc / "glance-api.conf", *args)
            assert result.returncode == 0, result.stderr[-2000:]
        glance.start()
        try:
            seeded = populate(glance.url, cluster.web_url)

            # -- adoption while Glance serves -------------------------------------------
            during = MixedLoad({"glance": glance.url}, threads=1)
            if backend == "sqlite":  # Glance's SQLite writes fail next to any writer
                adopted = manage(cluster.ours_config, "db", "sync")
                adoption_load = None
            else:
                with Background(during) as watched:
                    time.sleep(1)
                    adopted = manage(cluster.ours_config, "db", "sync")
                    time.sleep(1)
                adoption_load = watched.tally
                assert adoption_load.failures == [], adoption_load.failures[:5]
            assert adopted.returncode == 0, adopted.stderr
            assert "Contract was not run" in adopted.stdout

            # -- the mixed cluster --------------------------------------------------------
            ours = cluster.ours = helpers.Server(cluster.ours_config).start()
            load = MixedLoad({"glance": glance.url, "ours": ours.url},
                             threads=1 if backend == "sqlite" else 3, duration=SECONDS)
            tally = load.run()
            assert tally.failures == [], tally.failures[:5]
            assert min(tally.requests.values()) > 50, tally.requests
            images = seeded["images"] + list(tally.images)
            deleted = seeded["deleted"] + tally.deleted
            checked = same_everywhere({"glance": glance.url, "ours": ours.url}, images,
                                      deleted, seeded["tasks"])
        except BaseException:
            if cluster.ours is not None:  # the contract part below will not run
                cluster.ours.stop()
            raise
        finally:
            glance.stop()

        # -- contract, once Glance is gone ----------------------------------------------
        try:
            refused = manage(cluster.ours_config, "db", "contract")
            assert refused.returncode == 1
            assert "OpenStack Glance still wrote to this database" in refused.stderr
            with Background(MixedLoad({"ours": ours.url}, threads=2)) as after:
                time.sleep(1)
                contracted = manage(cluster.ours_config, "db", "contract", "--force")
                time.sleep(1)
            assert contracted.returncode == 0, contracted.stderr
            assert after.tally.failures == [], after.tally.failures[:5]
            assert manage(cluster.ours_config, "db", "check").returncode == 0
            images += list(after.tally.images)
            same_everywhere({"ours": ours.url}, images, deleted + after.tally.deleted,
                            seeded["tasks"])
        finally:
            ours.stop()
    assert _schema_diff(db_url) == []
    with capsys.disabled():
        print(f"\n[rolling switch {backend}] {SECONDS:.0f} s mixed load: "
              f"glance {tally.requests['glance']} + ours {tally.requests['ours']} requests, "
              f"{len(tally.failures)} failed; during adoption: "
              f"{sum(adoption_load.requests.values()) if adoption_load else 0} Glance "
              f"requests; during contract: {after.tally.requests['ours']} requests to ours; "
              f"{checked} reads compared; {len(images)} images; "
              f"{time.monotonic() - started:.0f} s in all")

"""A glance cluster on loopback: N ``glance-api`` nodes behind haproxy on one database.

What :meth:`Cluster.up` starts, in its own work directory (two clusters can run
side by side):

* a fresh PostgreSQL database on 127.0.0.1:5432 (``glance_cluster_<hex>``), or a
  three-node MariaDB Galera of its own (tests/cluster/galera.py; node i uses Galera
  node i), migrated once with ``glance-manage db sync``;
* N ``glance-api`` nodes on free loopback ports, each with its own
  ``[DEFAULT] worker_self_reference_url``, staging directory, image cache
  (``centralized_db`` driver) and state directory, all sharing one file store
  (``<work>/images``) or Ceph RBD (``--store rbd``: a one-OSD Ceph of
  tests/ceph/harness.py in ``<work>/ceph``) and the database;
* haproxy 2.6 (Debian's package, installed on demand) in front, daemonized with
  ``haproxy -f haproxy.cfg -D -p haproxy.pid``, checking ``GET /healthcheck``
  on every node twice a second.

Every PID is recorded in ``<work>/pids.json``; :func:`down` stops them by PID
(each node is its own process group), drops the database (stops Galera) and stops
a Ceph the command line started.

Command line (one command for a manual session)::

    python -m tests.cluster.harness up /tmp/cluster [--nodes 3] [--db postgresql|galera]
                                   [--store file|rbd]           # prints the URLs
    python -m tests.cluster.harness down /tmp/cluster
    python -m tests.cluster.harness tempest [--db galera]   # tempest through haproxy
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from tests import helpers

POSTGRES_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
BACKEND = "glance_api"
MANAGE = str(Path(sys.executable).with_name("glance-manage"))

_HAPROXY_CFG = """\
global
    maxconn 512
    stats socket {sock} mode 600 level admin

defaults
    mode http
    option httplog
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout http-request 30s
    # A request that cannot be sent to a node (refused, node gone) goes to another;
    # one that was sent and lost its node fails, as it must.
    retries 2
    option redispatch 1
    # A read whose node closed the connection without answering (it died after
    # accepting it) is retried elsewhere; a write never is (it may have happened).
    retry-on conn-failure empty-response

frontend glance
    bind 127.0.0.1:{port}
    default_backend {backend}

backend {backend}
    balance roundrobin
    option httpchk GET /healthcheck
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
    http-request disable-l7-retry if !METH_GET
    # Which node answered (tests check the load is spread and drained).
    http-response set-header X-Served-By %s
{servers}
"""


class PeerMissing(RuntimeError):
    """haproxy or the database is not available on this machine."""


def install_haproxy() -> str:
    """The haproxy binary; installs Debian's package when missing (idempotent)."""
    found = shutil.which("haproxy")
    if found:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=900", "install", "-y",
                             "-q", "--no-install-recommends", "haproxy"],
                            capture_output=True, text=True, env=env, timeout=1200)
    found = shutil.which("haproxy")
    if result.returncode != 0 or not found:
        raise PeerMissing(f"cannot install haproxy: {result.stderr[-1000:]}")
    return found


def _admin_engine() -> sa.Engine:
    """PostgreSQL's ``postgres`` database (PeerMissing when it does not answer)."""
    engine = sa.create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT",
                              poolclass=sa.pool.NullPool)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as err:
        raise PeerMissing(f"PostgreSQL not reachable: {err.orig}") from err
    return engine


class PostgreSQL:
    """A fresh database on the local PostgreSQL, shared by every node."""

    kind = "postgresql"

    def __init__(self) -> None:
        self.name = f"glance_cluster_{uuid.uuid4().hex[:10]}"

    def url(self, index: int = 0) -> str:
        """The oslo.db URL node ``index`` (0-based) uses: the same for all."""
        return f"postgresql+psycopg2://postgres@127.0.0.1:5432/{self.name}"

    def create(self) -> None:
        engine = _admin_engine()
        with engine.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {self.name}")
        engine.dispose()

    def record(self) -> dict:
        return {"kind": self.kind, "name": self.name}


def _drop_database(record: dict | str) -> None:
    """Undo what :meth:`PostgreSQL.record` / ``galera.Galera.record`` describe."""
    if isinstance(record, str):  # written by an older harness
        record = {"kind": "postgresql", "name": record}
    if record.get("kind") == "galera":
        from tests.cluster import galera

        galera.down(Path(record["dir"]))
        return
    engine = _admin_engine()
    with engine.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {record['name']} WITH (FORCE)")
    engine.dispose()


def rbd_sections(ceph, work_dir: Path) -> dict:
    """Node sections with the Ceph cluster ``ceph`` (tests.ceph.harness.Ceph) as the
    default store ``ceph`` (rbd) and a file store ``spare``."""
    from tests.stores.suite import multi_store_sections

    return multi_store_sections("ceph", "rbd", {
        "rbd_store_pool": ceph.pool, "rbd_store_user": ceph.user,
        "rbd_store_ceph_conf": str(ceph.conf), "rbd_store_chunk_size": 1,
        "rados_connect_timeout": 30}, Path(work_dir))


class Node:
    """One glance-api of the cluster."""

    def __init__(self, name: str, directory: Path, sections: dict) -> None:
        self.name = name
        self.port = helpers.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        sections = {**sections, "DEFAULT": {**sections.get("DEFAULT", {}),
                                            "worker_self_reference_url": self.url}}
        self.server = helpers.Server(helpers.write_config(directory, sections, self.port))

    @property
    def log(self) -> Path:
        return self.server.log_path

    def alive(self) -> bool:
        return self.server.process is not None and self.server.process.poll() is None


class Cluster:
    """``up()``: database, nodes, haproxy; ``url`` is the load balancer."""

    def __init__(self, work_dir: Path, nodes: int = 3, sections: dict | None = None,
                 workers: int = 1, database=None,
                 store_objects: Callable[[], set[str]] | None = None) -> None:
        """``database``: :class:`PostgreSQL` (the default) or ``galera.Galera`` (node i
        uses Galera node i); ``store_objects``: what the default store holds (object
        names), by default the files of the shared file store."""
        self.work_dir = Path(work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.database = database if database is not None else PostgreSQL()
        self.db_url = self.database.url(0)
        self.images_dir = self.work_dir / "images"
        self._store_objects = store_objects
        self.record_extra: dict = {}  # more for pids.json (the command line's Ceph)
        self.port = helpers.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.haproxy_pidfile = self.work_dir / "haproxy.pid"
        self.stats_socket = self.work_dir / "haproxy.sock"
        self.nodes = [Node(f"node{i + 1}", self.work_dir / f"node{i + 1}",
                           self._sections(i + 1, sections or {}, workers))
                      for i in range(nodes)]

    def _sections(self, index: int, extra: dict, workers: int) -> dict:
        node_dir = self.work_dir / f"node{index}"
        base: dict[str, dict] = {
            "DEFAULT": {"workers": workers, "enabled_backends": "fs:file",
                        "image_cache_dir": node_dir / "cache",
                        "image_cache_driver": "centralized_db",
                        "upload_recovery_interval": 2},
            "database": {"connection": self.database.url(index - 1)},
            "glance_store": {"default_backend": "fs"},
            "fs": {"filesystem_store_datadir": self.images_dir},
            "os_glance_staging_store": {"filesystem_store_datadir": node_dir / "staging"},
            "os_glance_tasks_store": {"filesystem_store_datadir": node_dir / "tasks"},
        }
        if "glance_store" in extra:  # the caller's stores instead of the shared "fs"
            del base["fs"]
        for section, values in extra.items():
            base[section] = {**base.get(section, {}), **values}
        return base

    # -- life cycle -----------------------------------------------------------------

    def up(self, timeout: float = 120) -> Cluster:
        """Create and migrate the database, start every node, then haproxy."""
        haproxy = install_haproxy()
        self.database.create()
        self._record()
        subprocess.run([MANAGE, "--config-file", str(self.nodes[0].server.config_path),
                        "db", "sync"], check=True, capture_output=True, timeout=300)
        errors: list[BaseException] = []

        def start(node: Node) -> None:
            try:
                node.server.start(timeout=timeout)
            except BaseException as err:  # noqa: BLE001 - reported below
                errors.append(err)

        threads = [threading.Thread(target=start, args=(n,)) for n in self.nodes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self._record()
        if errors:
            self.down()
            raise errors[0]
        self._start_haproxy(haproxy)
        self._record()
        return self

    def _start_haproxy(self, binary: str) -> None:
        servers = "\n".join(f"    server {n.name} 127.0.0.1:{n.port} check"
                            for n in self.nodes)
        config = self.work_dir / "haproxy.cfg"
        config.write_text(_HAPROXY_CFG.format(sock=self.stats_socket, port=self.port,
                                              backend=BACKEND, servers=servers))
        subprocess.run([binary, "-f", str(config), "-D", "-p", str(self.haproxy_pidfile)],
                       check=True, capture_output=True, timeout=30)
        if not helpers.wait_until(lambda: all(s == "UP" for s in self.states().values()),
                                  timeout=20):
            raise RuntimeError(f"haproxy does not see every node up: {self.states()}")

    def _record(self) -> None:
        pids = {"haproxy": self.haproxy_pid(), "database": self.database.record(),
                "nodes": {n.name: n.server.process.pid for n in self.nodes
                          if n.server.process is not None}, **self.record_extra}
        (self.work_dir / "pids.json").write_text(json.dumps(pids, indent=2))

    def haproxy_pid(self) -> int | None:
        try:
            return int(self.haproxy_pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def down(self) -> None:
        """Stop everything this cluster started (by PID) and drop its database."""
        for node in self.nodes:
            node.server.stop()
        down(self.work_dir)

    # -- what the tests use -----------------------------------------------------------

    def store_objects(self) -> set[str]:
        """The names of the objects in the default store (files, RBD images)."""
        if self._store_objects is not None:
            return self._store_objects()
        return {path.name for path in self.images_dir.iterdir()}

    def kill(self, node: Node) -> float:
        """kill -9 every process of ``node`` (master and workers); returns the
        ``time.monotonic()`` by which all of them are gone."""
        assert node.server.process is not None
        pid = node.server.process.pid
        os.killpg(pid, signal.SIGKILL)
        node.server.process.wait()
        while _running_in_group(pid) or not _refuses(node.port):
            time.sleep(0.002)
        return time.monotonic()

    def restart(self, node: Node) -> None:
        node.server.start()
        self._record()

    def states(self) -> dict[str, str]:
        """haproxy's view: node name -> ``UP`` / ``DOWN`` / ``MAINT`` ..."""
        rows = _stats_command(self.stats_socket, "show stat").splitlines()
        header = rows[0].lstrip("# ").split(",")
        states = {}
        for row in rows[1:]:
            fields = dict(zip(header, row.split(","), strict=False))
            if fields.get("pxname") == BACKEND and fields.get("svname") not in (
                    "BACKEND", "FRONTEND", None):
                states[fields["svname"]] = fields["status"].split()[0]
        return states

    def node_by_url(self, url: str) -> Node:
        return next(n for n in self.nodes if n.url == url)


def _stat(path: str) -> list[str]:
    try:
        with open(path) as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _running_in_group(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs. A zombie does not count, but a
    killed process whose leader thread is a zombie while another thread still exits
    does: that thread holds the process's files (its listening socket) until it goes."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat(f"/proc/{entry}/stat")
        if not fields or int(fields[2]) != pgid:
            continue
        try:
            tasks = os.listdir(f"/proc/{entry}/task")
        except OSError:
            continue
        if any((_stat(f"/proc/{entry}/task/{task}/stat") or ["Z"])[0] not in ("Z", "X")
               for task in tasks):
            return True
    return False


def _refuses(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:``port`` any more."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def _stats_command(path: Path, command: str) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(path))
        sock.sendall(command.encode() + b"\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()




def down(work_dir: Path) -> None:
    """Stop the processes recorded in ``<work_dir>/pids.json`` and drop the database."""
    record = Path(work_dir) / "pids.json"
    try:
        pids = json.loads(record.read_text())
    except (OSError, ValueError):
        return
    if pids.get("haproxy"):
        try:
            os.kill(pids["haproxy"], signal.SIGTERM)
        except ProcessLookupError:
            pass
    for pid in pids.get("nodes", {}).values():
        helpers.stop_process_group(pid)
    if pids.get("database"):
        _drop_database(pids["database"])
    if pids.get("ceph"):  # started by the command line (--store rbd)
        from tests.ceph import harness as ceph_harness

        ceph_harness.Ceph.load(Path(pids["ceph"])).stop()
    record.unlink()


def _read_urls(work_dir: Path) -> dict[str, str]:
    urls = {}
    for config in sorted(Path(work_dir).glob("node*/glance-api.conf")):
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(config)
        urls[config.parent.name] = parser["DEFAULT"]["worker_self_reference_url"]
    return urls


def _up(args: argparse.Namespace) -> Cluster:
    sections, ceph = None, None
    if args.store == "rbd":
        from tests.ceph import harness as ceph_harness

        ceph_harness.install()
        ceph = ceph_harness.Ceph(args.work_dir / "ceph", rgw=False).start()
        sections = rbd_sections(ceph, args.work_dir)
    database = None
    if args.db == "galera":
        from tests.cluster import galera

        database = galera.Galera(args.work_dir)
    cluster = Cluster(args.work_dir, nodes=args.nodes, workers=args.workers,
                      sections=sections, database=database)
    if ceph is not None:
        cluster.record_extra["ceph"] = str(ceph.workdir)
    try:
        return cluster.up()
    except BaseException:
        if ceph is not None:
            ceph.stop()
        raise


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["tempest"]:  # tempest through the load balancer (its own options)
        from tests.cluster import tempest

        return tempest.main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m tests.cluster.harness")
    commands = parser.add_subparsers(dest="command", required=True)
    up_parser = commands.add_parser("up", help="start a cluster in DIR")
    up_parser.add_argument("work_dir", type=Path)
    up_parser.add_argument("--nodes", type=int, default=3)
    up_parser.add_argument("--workers", type=int, default=1)
    up_parser.add_argument("--db", choices=("postgresql", "galera"), default="postgresql",
                           help="one database on the local PostgreSQL, or a three-node "
                                "MariaDB Galera started in DIR (node i on Galera node i)")
    up_parser.add_argument("--store", choices=("file", "rbd"), default="file",
                           help="default store: a shared directory, or RBD on a one-OSD "
                                "Ceph started in DIR/ceph (Debian's Ceph, installed when "
                                "missing)")
    down_parser = commands.add_parser("down", help="stop the cluster of DIR")
    down_parser.add_argument("work_dir", type=Path)
    args = parser.parse_args(argv)
    if args.command == "down":
        down(args.work_dir)
        return 0
    if (args.work_dir / "pids.json").exists():
        parser.error(f"{args.work_dir} already holds a cluster (run down first)")
    cluster = _up(args)
    print(f"load balancer: {cluster.url}")
    for name, url in _read_urls(args.work_dir).items():
        print(f"{name}: {url}")
    for index in range(len(cluster.nodes) if args.db == "galera" else 1):
        print(f"database{index + 1 if args.db == 'galera' else ''}: "
              f"{cluster.database.url(index)}")
    if args.store == "rbd":
        print(f"ceph: {args.work_dir / 'ceph' / 'ceph.conf'} (pool images, user glance)")
    # The nodes outlive this command (own sessions); ``down`` stops them by PID.
    for node in cluster.nodes:
        node.server.process = None
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A three-node MariaDB Galera cluster on loopback, for the cluster tier.

Debian's ``mariadb-server`` and ``galera-4`` (installed on this machine; not
installed here): each node is a ``mariadbd`` run as the ``mysql`` user with its
own data directory, socket, SQL port, group-communication port, IST port and
rsync SST port, all free loopback ports picked at start (several clusters
coexist, and none touches the machine's MariaDB on 3306). Node 1 is initialised
with ``mariadb-install-db`` and bootstraps the cluster (``--wsrep-new-cluster``);
nodes 2 and 3 join it empty and receive their data by rsync SST.

Every node runs with ``wsrep_sync_wait = 1``: a read waits until the node has
applied what the cluster committed before it, so a client that writes through one
glance node and reads through another sees its write (Galera applies asynchronously
otherwise). ``SELECT ... FOR UPDATE`` still only locks on its own node: two nodes
updating one row at once make one of them fail certification (a deadlock error,
which oslo.db's ``DBDeadlock`` retries cover).

The state is in ``<work>/galera.json`` (ports, PIDs, data root); the data
directories are under ``<work>/galera`` when the ``mysql`` user can reach it, else
in a ``/tmp/glance-galera-*`` directory of their own (pytest's temporary
directories are private to root), recorded there and removed by :func:`down`.

    galera = Galera(work_dir).up()     # idempotent: a running cluster is reused
    galera.url(0)                      # mysql+pymysql://...: node 1 (0-based)
    galera.create()                    # up + the ``glance`` database and user
    galera.status()                    # per node: wsrep_cluster_size, state
    down(work_dir)                     # SIGTERM by PID (then SIGKILL), data removed
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

PROVIDER_PATHS = ("/usr/lib/galera/libgalera_smm.so", "/usr/lib/libgalera_smm.so")
DATABASE, USER, PASSWORD = "glance", "glance", "glance"
STATE = "galera.json"
START_TIMEOUT = 180  # seconds per node: rsync SST on a loaded 2-core machine

_NODE_CNF = """\
[mysqld]
user = mysql
datadir = {data}
socket = {run}/mysqld.sock
pid-file = {run}/mysqld.pid
log-error = {run}/error.log
port = {port}
bind-address = 127.0.0.1
skip-name-resolve
skip-log-bin
# glance-manage db sync creates triggers (binary logging is on under wsrep)
log_bin_trust_function_creators = 1
binlog_format = ROW
default_storage_engine = InnoDB
innodb_autoinc_lock_mode = 2
innodb_buffer_pool_size = 64M
innodb_log_file_size = 32M
innodb_flush_log_at_trx_commit = 2
max_connections = 400
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
wsrep_on = ON
wsrep_provider = {provider}
wsrep_cluster_name = {cluster}
wsrep_cluster_address = gcomm://{members}
wsrep_node_name = {name}
wsrep_node_address = 127.0.0.1:{gcomm}
wsrep_node_incoming_address = 127.0.0.1:{port}
wsrep_sst_method = rsync
wsrep_sst_receive_address = 127.0.0.1:{sst}
wsrep_sync_wait = 1
wsrep_provider_options = "base_port={gcomm}; gmcast.listen_addr=tcp://127.0.0.1:{gcomm}; \
ist.recv_addr=127.0.0.1:{ist}; gcache.size=64M; pc.wait_prim_timeout=PT60S"
"""


class GaleraMissing(RuntimeError):
    """MariaDB or the Galera provider is not installed."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _alive(pid: int | None) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _mysql_reaches(path: Path) -> bool:
    """Whether the ``mysql`` user can traverse every directory down to ``path``."""
    for directory in [path, *path.parents]:
        if directory.exists() and not directory.stat().st_mode & stat.S_IXOTH:
            return False
    return True


def provider() -> str:
    found = next((p for p in PROVIDER_PATHS if Path(p).exists()), None)
    if found is None or not shutil.which("mariadbd") or not shutil.which(
            "mariadb-install-db") or not shutil.which("rsync"):
        raise GaleraMissing("Galera needs mariadbd, mariadb-install-db, rsync and "
                            "galera-4 (apt-get install mariadb-server galera-4 rsync)")
    return found


class Galera:
    """Three (``nodes``) Galera nodes whose state lives in ``work_dir``."""

    kind = "galera"

    def __init__(self, work_dir: Path, nodes: int = 3) -> None:
        self.work_dir = Path(work_dir)
        state = self._load()
        if state is None:
            state = {"cluster": f"glance_{uuid.uuid4().hex[:8]}", "root": None,
                     "nodes": [{"name": f"galera{i + 1}", "port": _free_port(),
                                "gcomm": _free_port(), "ist": _free_port(),
                                "sst": _free_port(), "pid": None} for i in range(nodes)]}
        self.state = state

    # -- state ---------------------------------------------------------------------------

    def _load(self) -> dict | None:
        try:
            return json.loads((self.work_dir / STATE).read_text())
        except (OSError, ValueError):
            return None

    def _save(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        (self.work_dir / STATE).write_text(json.dumps(self.state, indent=2))

    @property
    def nodes(self) -> list[dict]:
        return self.state["nodes"]

    def _dir(self, node: dict) -> Path:
        return Path(self.state["root"]) / node["name"]

    def url(self, index: int = 0) -> str:
        """oslo.db URL of node ``index`` (0-based; wraps round past the last node)."""
        node = self.nodes[index % len(self.nodes)]
        return (f"mysql+pymysql://{USER}:{PASSWORD}@127.0.0.1:{node['port']}/{DATABASE}"
                "?charset=utf8mb4")

    def record(self) -> dict:
        """What the cluster harness's ``down`` needs to stop this (pids.json)."""
        return {"kind": self.kind, "dir": str(self.work_dir)}

    # -- life cycle ----------------------------------------------------------------------

    def running(self) -> bool:
        return bool(self.state["root"]) and all(_alive(n["pid"]) for n in self.nodes)

    def up(self) -> Galera:
        """Start the nodes (node 1 bootstraps, the others join by SST); a cluster
        already running from this work directory is reused."""
        if self.running():
            return self
        binary_provider = provider()
        down(self.work_dir)  # a half-started earlier one
        self.state["root"] = str(self._make_root())
        self.state["nodes"] = [{**n, "pid": None} for n in self.nodes]
        members = ",".join(f"127.0.0.1:{n['gcomm']}" for n in self.nodes)
        for node in self.nodes:
            base = self._dir(node)
            for sub in ("data", "run"):
                (base / sub).mkdir(parents=True, exist_ok=True)
                shutil.chown(base / sub, "mysql", "mysql")
            (base / "my.cnf").write_text(_NODE_CNF.format(
                data=base / "data", run=base / "run", provider=binary_provider,
                cluster=self.state["cluster"], members=members, **node))
        self._save()
        first = self.nodes[0]
        subprocess.run(["mariadb-install-db", f"--defaults-file={self._dir(first)}/my.cnf",
                        "--skip-test-db", "--auth-root-authentication-method=socket"],
                       check=True, capture_output=True, timeout=300)
        try:
            self._start(first, "--wsrep-new-cluster")
            self._wait(lambda: self._synced(first, 1), "node 1 to bootstrap")
            for node in self.nodes[1:]:
                self._start(node)
            self._wait(lambda: all(self._synced(n, len(self.nodes)) for n in self.nodes),
                       "every node to join and sync")
        except BaseException:
            down(self.work_dir)
            raise
        return self

    def _make_root(self) -> Path:
        root = self.work_dir / "galera"
        if _mysql_reaches(self.work_dir):
            root.mkdir(parents=True, exist_ok=True)
            return root
        root = Path(tempfile.mkdtemp(prefix="glance-galera-"))
        root.chmod(0o755)
        return root

    def _start(self, node: dict, *extra: str) -> None:
        base = self._dir(node)
        with (base / "run" / "mariadbd.out").open("ab") as log:
            process = subprocess.Popen(
                ["mariadbd", f"--defaults-file={base}/my.cnf", *extra], stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True, cwd=base)
        node["pid"] = process.pid
        self._save()

    def _wait(self, predicate, what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            dead = [n["name"] for n in self.nodes if n["pid"] and not _alive(n["pid"])]
            if dead:
                raise RuntimeError(f"Galera node {dead[0]} exited:\n{self._log(dead[0])}")
            if predicate():
                return
            time.sleep(0.2)
        raise RuntimeError(f"Galera: timed out waiting for {what}: {self.status()}")

    def _log(self, name: str) -> str:
        node = next(n for n in self.nodes if n["name"] == name)
        try:
            return (self._dir(node) / "run" / "error.log").read_text()[-3000:]
        except OSError:
            return ""

    def _sql(self, node: dict, statement: str) -> str:
        """``statement`` as root on the node's socket (tab-separated output)."""
        result = subprocess.run(
            ["mariadb", f"--socket={self._dir(node)}/run/mysqld.sock", "-uroot", "-N",
             "-B", "-e", statement], capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise RuntimeError(result.stderr.strip())
        return result.stdout

    def _wsrep(self, node: dict) -> dict[str, str]:
        try:
            rows = self._sql(node, "SHOW GLOBAL STATUS LIKE 'wsrep_%'")
        except (RuntimeError, subprocess.TimeoutExpired):
            return {}
        return dict(line.split("\t", 1) for line in rows.splitlines() if "\t" in line)

    def _synced(self, node: dict, size: int) -> bool:
        status = self._wsrep(node)
        return (status.get("wsrep_local_state_comment") == "Synced"
                and status.get("wsrep_cluster_size") == str(size)
                and status.get("wsrep_ready") == "ON")

    def status(self) -> dict[str, dict[str, str]]:
        """Per node: cluster size, state, and how many write sets failed certification."""
        keys = ("wsrep_cluster_size", "wsrep_local_state_comment",
                "wsrep_local_cert_failures", "wsrep_local_bf_aborts")
        return {n["name"]: {k: v for k, v in self._wsrep(n).items() if k in keys}
                for n in self.nodes}

    def create(self) -> None:
        """Up, then the ``glance`` database and user (written on node 1: replicated)."""
        self.up()
        self._sql(self.nodes[0], f"DROP DATABASE IF EXISTS {DATABASE}; "
                  f"CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4; "
                  f"CREATE USER IF NOT EXISTS '{USER}'@'127.0.0.1' IDENTIFIED BY "
                  f"'{PASSWORD}'; GRANT ALL ON {DATABASE}.* TO '{USER}'@'127.0.0.1'")
        # Replicated synchronously; applied before any read there (wsrep_sync_wait).
        for index in range(len(self.nodes)):
            engine = sa.create_engine(self.url(index), poolclass=sa.pool.NullPool)
            try:
                with engine.connect():
                    pass
            finally:
                engine.dispose()


def down(work_dir: Path, timeout: float = 60) -> None:
    """Stop the nodes recorded in ``work_dir`` by PID (SIGTERM, SIGKILL after
    ``timeout``), the joiners first, and remove their data. Idempotent."""
    state_path = Path(work_dir) / STATE
    try:
        state = json.loads(state_path.read_text())
    except (OSError, ValueError):
        return
    for node in reversed(state["nodes"]):
        pid = node.get("pid")
        if not _alive(pid):
            continue
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
    if state.get("root"):
        shutil.rmtree(state["root"], ignore_errors=True)
    state_path.unlink()

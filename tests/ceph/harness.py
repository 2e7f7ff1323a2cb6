"""A real one-node Ceph (mon, mgr, OSD on memstore, radosgw) on loopback, for the store tests.

Ceph 16.2 comes from Debian (``PACKAGES``, installed by :func:`install`, idempotent,
waiting for the apt lock); Debian's rados/rbd Python bindings are linked into the
project venv by ``tools/ceph_bindings.py``. Each cluster lives in its own work
directory: ``ceph.conf``, the fsid, keyrings (``keyrings/ceph.<entity>.keyring``),
monitor/OSD data, admin sockets (one per daemon section), logs and the daemons'
PID files (``run/*.pid``). Ports are free ones picked at start: several clusters
coexist. One OSD uses ``osd objectstore = memstore`` (no block device; its size is
``memstore_bytes``: keep test data well under it, a full memstore hangs clients, so
clients get op timeouts in ``[client]``); pools have size 1 and the warnings about
it are off, so ``ceph health`` is HEALTH_OK. cephx is on.

Stable API (other tiers use it; the S3 tier uses the radosgw)::

    cluster = Ceph(workdir, memstore_bytes=1 << 30, rgw=True).start()
    cluster.conf            # Path of ceph.conf (also: rbd_store_ceph_conf)
    cluster.user            # "glance" (rbd_store_user; entity client.glance)
    cluster.keyring         # Path of client.glance's keyring (found via ceph.conf)
    cluster.pool            # "images" (rbd_store_pool), rbd application, rbd pool init
    cluster.fsid            # the cluster fsid (str)
    cluster.admin_keyring   # client.admin's keyring
    cluster.rgw_endpoint    # "http://127.0.0.1:<port>" (None when rgw=False)
    cluster.s3_access_key, cluster.s3_secret_key   # an S3 user of radosgw
    cluster.s3_region       # "default": the zonegroup name, the region S3 clients use
    cluster.ceph("df")      # run the ceph CLI as client.admin; returns stdout
    cluster.rbd("du", ...)  # the rbd CLI on cluster.pool as client.admin
    cluster.stop()          # SIGTERM each daemon by its recorded PID (then SIGKILL)
    Ceph.load(workdir)      # the cluster a previous ``up`` started there
    shared(base_dir)        # context manager: one cluster shared by pytest-xdist workers

Command line (for a manual session or another tier's set-up)::

    python -m tests.ceph.harness install     # apt packages + bindings in .venv
    python -m tests.ceph.harness up DIR      # install + start; prints cluster.json
    python -m tests.ceph.harness down DIR    # stop the daemons by their PID files
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ceph-mon", "ceph-mgr", "ceph-osd", "radosgw", "ceph-common", "python3-rados",
            "python3-rbd")
BINARIES = ("ceph-mon", "ceph-mgr", "ceph-osd", "radosgw", "ceph", "rbd", "radosgw-admin",
            "ceph-authtool", "monmaptool")
USER = "glance"
POOL = "images"
S3_REGION = "default"  # radosgw's zonegroup: S3 clients must sign for this region
RGW_POOLS = (".rgw.root", "default.rgw.control", "default.rgw.meta", "default.rgw.log",
             "default.rgw.buckets.index", "default.rgw.buckets.data",
             "default.rgw.buckets.non-ec")
# The manager loads every module it finds (~1 s each on a busy host): it gets a module
# directory with the ones Ceph always runs and the rbd store needs (no CephFS volumes).
MGR_MODULES = ("mgr_module.py", "mgr_util.py", "balancer", "crash", "devicehealth",
               "orchestrator", "pg_autoscaler", "progress", "rbd_support", "status",
               "telemetry", "volumes")
MGR_MODULE_DIR = Path("/usr/share/ceph/mgr")
CLIENT_TIMEOUT = 30  # seconds: librados op timeouts, so a full memstore fails, not hangs
CLI_TIMEOUT = 120


class NotInstalled(RuntimeError):
    """Ceph (or its Python bindings) cannot be installed here."""


def _run(args: list[str], timeout: float = CLI_TIMEOUT, **kwargs) -> str:
    try:
        result = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                                **kwargs)
    except subprocess.TimeoutExpired as err:
        raise RuntimeError(f"{' '.join(args)} timed out after {timeout}s") from err
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}):\n"
                           f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result.stdout


def installed() -> bool:
    """Whether the Ceph daemons and CLIs are on the machine."""
    return all(shutil.which(name) for name in BINARIES)


def install(venv: Path | None = None) -> None:
    """apt-get the Ceph packages when missing (as root), then link the bindings into
    ``venv`` (default: the running interpreter's venv). NotInstalled when impossible."""
    if not installed() or not Path("/usr/lib/python3/dist-packages/rbd.cpython-311-"
                                   "x86_64-linux-gnu.so").exists():
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            raise NotInstalled("Ceph is not installed and this is not root with apt-get: "
                               "apt-get install " + " ".join(PACKAGES))
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        command = ["apt-get", "-o", "DPkg::Lock::Timeout=900", "install", "-y", "-q",
                   "--no-install-recommends", *PACKAGES]
        result = subprocess.run(command, capture_output=True, text=True, env=env,
                                timeout=1800)
        if result.returncode != 0:  # stale package lists: refresh once
            subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=900", "update", "-q"],
                           capture_output=True, env=env, timeout=900)
            result = subprocess.run(command, capture_output=True, text=True, env=env,
                                    timeout=1800)
        if result.returncode != 0 or not installed():
            raise NotInstalled(f"apt-get install {' '.join(PACKAGES)} failed:\n"
                               f"{result.stderr[-2000:]}")
    venv = venv or Path(sys.prefix)
    if venv != Path(sys.base_prefix):
        result = subprocess.run([sys.executable, str(ROOT / "tools" / "ceph_bindings.py"),
                                 str(venv)], capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise NotInstalled(f"cannot link the rados/rbd bindings: {result.stderr}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _config(workdir: Path, fsid: str, mon_port: int, rgw_port: int,
            memstore_bytes: int) -> str:
    run, log = workdir / "run", workdir / "log"
    return f"""[global]
fsid = {fsid}
mon host = v2:127.0.0.1:{mon_port}
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
keyring = {workdir}/keyrings/$cluster.$name.keyring
run dir = {run}
log file = {log}/$cluster-$name.log
pid file =
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
mon data avail warn = 1
mon data avail crit = 0
mon pg warn min per osd = 0
mon max pg per osd = 1000
mgr initial modules =
[mon]
mon data = {workdir}/mon/$cluster-$id
keyring = {workdir}/mon/$cluster-$id/keyring
admin socket = {run}/$cluster-$name.asok
paxos propose interval = 0.05
paxos min wait = 0.01
[mgr]
mgr data = {workdir}/mgr/$cluster-$id
mgr module path = {workdir}/mgr-modules
admin socket = {run}/$cluster-$name.asok
[osd]
osd data = {workdir}/osd/$cluster-$id
osd objectstore = memstore
memstore device bytes = {memstore_bytes}
osd op num shards = 2
osd op num threads per shard = 1
admin socket = {run}/$cluster-$name.asok
[client]
log to file = false
admin socket =
rados osd op timeout = {CLIENT_TIMEOUT}
rados mon op timeout = {CLIENT_TIMEOUT}
client mount timeout = {CLIENT_TIMEOUT}
[client.rgw.a]
log to file = true
admin socket = {run}/$cluster-$name.asok
rgw frontends = beast endpoint=127.0.0.1:{rgw_port}
rgw data = {workdir}/rgw
rgw thread pool size = 64
rgw enable usage log = false
"""


@dataclass
class Ceph:
    """A one-node Ceph cluster in ``workdir``; see the module docstring."""

    workdir: Path
    memstore_bytes: int = 1 << 30
    rgw: bool = True
    fsid: str = field(default_factory=lambda: str(uuid.uuid4()))
    mon_port: int = field(default_factory=free_port)
    rgw_port: int = field(default_factory=free_port)
    s3_access_key: str = field(default_factory=lambda: uuid.uuid4().hex[:20].upper())
    s3_secret_key: str = field(default_factory=lambda: uuid.uuid4().hex + uuid.uuid4().hex)
    user: str = USER
    pool: str = POOL
    s3_region: str = S3_REGION
    pids: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.workdir = Path(self.workdir).resolve()
        self._children: dict[str, subprocess.Popen] = {}
        self._admin = None  # rados.Rados as client.admin while starting

    # -- paths and clients ---------------------------------------------------------------

    @property
    def conf(self) -> Path:
        return self.workdir / "ceph.conf"

    def keyring_of(self, entity: str) -> Path:
        return self.workdir / "keyrings" / f"ceph.{entity}.keyring"

    @property
    def keyring(self) -> Path:
        return self.keyring_of(f"client.{self.user}")

    @property
    def admin_keyring(self) -> Path:
        return self.keyring_of("client.admin")

    @property
    def rgw_endpoint(self) -> str | None:
        return f"http://127.0.0.1:{self.rgw_port}" if self.rgw else None

    def ceph(self, *args: str, timeout: float = CLI_TIMEOUT) -> str:
        """The ``ceph`` CLI as client.admin; its stdout."""
        return _run(["ceph", "--conf", str(self.conf), "--name", "client.admin",
                     "--connect-timeout", str(CLIENT_TIMEOUT), *args], timeout=timeout)

    def rbd(self, *args: str, timeout: float = CLI_TIMEOUT) -> str:
        """The ``rbd`` CLI as client.admin on ``self.pool``; its stdout."""
        return _run(["rbd", "--conf", str(self.conf), "--name", "client.admin",
                     "--pool", self.pool, *args], timeout=timeout)

    def rbd_images(self, trash: bool = True) -> set[str]:
        """The names of the RBD images in the pool, with those in its trash (``trash``),
        listed through librados as client.admin."""
        import rbd

        if not self._admin_connected():
            raise RuntimeError("cannot connect to the monitor")
        with self._admin.open_ioctx(self.pool) as ioctx:
            names = set(rbd.RBD().list(ioctx))
            if trash:
                names |= {entry["name"] for entry in rbd.RBD().trash_list(ioctx)}
        return names

    # -- life cycle ----------------------------------------------------------------------

    def _daemon(self, name: str, args: list[str]) -> None:
        log = (self.workdir / "log" / f"{name}.out").open("ab")
        process = subprocess.Popen([*args, "--conf", str(self.conf), "-f"], stdout=log,
                                   stderr=subprocess.STDOUT, cwd=self.workdir,
                                   start_new_session=True)
        self.pids[name] = process.pid
        self._children[name] = process
        (self.workdir / "run" / f"{name}.pid").write_text(str(process.pid))

    def _alive(self, name: str) -> bool:
        """Whether daemon ``name`` still runs: its PID is a process started with our
        ceph.conf (a reused PID, or a zombie, is not ours)."""
        pid = self.pids.get(name)
        child = self._children.get(name)
        if child is not None and child.pid == pid:
            return child.poll() is None
        if not pid:
            return False
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            return False
        # An exiting process has released its memory (empty cmdline) but is not gone yet.
        return not cmdline or str(self.conf).encode() in cmdline.split(b"\0")

    def _wait(self, what: str, predicate, timeout: float, daemons: tuple[str, ...]) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name in daemons:
                if not self._alive(name):
                    out = self.workdir / "log" / f"{name}.out"
                    raise RuntimeError(f"ceph {name} exited:\n"
                                       + (out.read_text()[-3000:] if out.exists() else ""))
            try:
                if predicate():
                    return
            except RuntimeError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"ceph: {what} not reached in {timeout}s (logs in "
                           f"{self.workdir / 'log'})")

    def start(self, timeout: float = 120) -> Ceph:
        """Create and start the cluster; returns once HEALTH_OK (and radosgw answers)."""
        install()
        if self.conf.exists():
            raise RuntimeError(f"{self.workdir} already holds a cluster (use Ceph.load)")
        for sub in ("run", "log", "keyrings", "mon", "mgr", "osd", "rgw"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        self.conf.write_text(_config(self.workdir, self.fsid, self.mon_port, self.rgw_port,
                                     self.memstore_bytes))
        self._save()
        try:
            self._start_daemons(timeout)
        except BaseException:
            self._close_admin()
            self.stop()
            raise
        self._save()
        return self

    def _start_daemons(self, timeout: float) -> None:
        mon_keyring = self.keyring_of("mon.")
        _run(["ceph-authtool", "--create-keyring", str(mon_keyring), "--gen-key",
              "-n", "mon.", "--cap", "mon", "allow *"])
        _run(["ceph-authtool", "--create-keyring", str(self.admin_keyring), "--gen-key",
              "-n", "client.admin", "--cap", "mon", "allow *", "--cap", "osd", "allow *",
              "--cap", "mds", "allow *", "--cap", "mgr", "allow *"])
        _run(["ceph-authtool", str(mon_keyring), "--import-keyring",
              str(self.admin_keyring)])
        monmap = self.workdir / "monmap"
        _run(["monmaptool", "--create", "--fsid", self.fsid, "--addv", "a",
              f"[v2:127.0.0.1:{self.mon_port}]", str(monmap)])
        _run(["ceph-mon", "--conf", str(self.conf), "--mkfs", "-i", "a", "--monmap",
              str(monmap), "--keyring", str(mon_keyring)])
        self._daemon("mon.a", ["ceph-mon", "-i", "a"])
        self._wait("monitor quorum", self._admin_connected, timeout, ("mon.a",))
        self._auth("mgr.x", "mon", "allow profile mgr", "osd", "allow *", "mds", "allow *")
        (self.workdir / "mgr" / "ceph-x").mkdir(exist_ok=True)
        modules = self.workdir / "mgr-modules"
        modules.mkdir(exist_ok=True)
        for name in MGR_MODULES:
            (modules / name).symlink_to(MGR_MODULE_DIR / name)
        self._daemon("mgr.x", ["ceph-mgr", "-i", "x"])
        osd_uuid = str(uuid.uuid4())
        osd_id = str(self.command("osd new", uuid=osd_uuid)["osdid"])
        self._auth(f"osd.{osd_id}", "mon", "allow profile osd", "mgr", "allow profile osd",
                   "osd", "allow *")
        (self.workdir / "osd" / f"ceph-{osd_id}").mkdir(exist_ok=True)
        _run(["ceph-osd", "--conf", str(self.conf), "-i", osd_id, "--mkfs", "--osd-uuid",
              osd_uuid])
        self._daemon(f"osd.{osd_id}", ["ceph-osd", "-i", osd_id])
        pools = [self.pool, *(RGW_POOLS if self.rgw else ())]
        for pool in pools:
            self.command("osd pool create", pool=pool, pg_num=8, pgp_num=8)
            self.command("osd pool application enable", pool=pool,
                         app="rbd" if pool == self.pool else "rgw")
        self._auth(f"client.{self.user}", "mon", "profile rbd",
                   "osd", f"profile rbd pool={self.pool}",
                   "mgr", f"profile rbd pool={self.pool}")
        if self.rgw:  # radosgw and the pool init need no manager: start while it loads
            self._auth("client.rgw.a", "mon", "allow rw", "osd", "allow rwx",
                       "mgr", "allow rw")
            self._daemon("rgw.a", ["radosgw", "--name", "client.rgw.a"])
        self._wait("the OSD up", self._osd_up, timeout, tuple(self.pids))
        self._rbd_pool_init()
        if self.rgw:
            self._wait("radosgw answering", self._rgw_answers, timeout, tuple(self.pids))
            _run(["radosgw-admin", "--conf", str(self.conf), "--name", "client.admin",
                  "user", "create", "--uid", USER, "--display-name", "glance store tests",
                  "--access-key", self.s3_access_key, "--secret-key", self.s3_secret_key])
        self._wait("an active mgr", lambda: bool(self.command("mgr stat").get("available")),
                   timeout, tuple(self.pids))
        self._wait("HEALTH_OK", lambda: self.command("health")["status"] == "HEALTH_OK",
                   timeout, tuple(self.pids))
        self._close_admin()

    # -- librados as client.admin (one connection: a CLI call costs ~2 s on a busy host) --

    def _admin_connected(self) -> bool:
        import rados  # linked into the venv by install()

        if self._admin is None:
            client = rados.Rados(conffile=str(self.conf), name="client.admin")
            try:
                client.connect(timeout=5)
            except rados.Error:
                client.shutdown()
                return False
            self._admin = client
        return True

    def _close_admin(self) -> None:
        if self._admin is not None:
            self._admin.shutdown()
            self._admin = None

    def command(self, prefix: str, **args) -> dict:
        """A monitor command as client.admin through librados; its JSON answer ({} when
        it prints nothing). RuntimeError when the monitor refuses it."""
        if not self._admin_connected():
            raise RuntimeError("cannot connect to the monitor")
        request = json.dumps({"prefix": prefix, "format": "json", **args})
        ret, out, err = self._admin.mon_command(request, b"", timeout=CLIENT_TIMEOUT)
        if ret != 0:
            raise RuntimeError(f"ceph {prefix} {args}: {ret} {err}")
        return json.loads(out) if out.strip() else {}

    def _auth(self, entity: str, *caps: str) -> None:
        """``ceph auth get-or-create`` and write the entity's keyring."""
        if not self._admin_connected():
            raise RuntimeError("cannot connect to the monitor")
        request = json.dumps({"prefix": "auth get-or-create", "entity": entity,
                              "caps": list(caps)})
        ret, out, err = self._admin.mon_command(request, b"", timeout=CLIENT_TIMEOUT)
        if ret != 0:
            raise RuntimeError(f"ceph auth get-or-create {entity}: {ret} {err}")
        self.keyring_of(entity).write_bytes(out)

    def _rbd_pool_init(self) -> None:
        import rbd

        with self._admin.open_ioctx(self.pool) as ioctx:
            rbd.RBD().pool_init(ioctx, False)

    def _osd_up(self) -> bool:
        return self.command("osd stat").get("num_up_osds") == 1

    def _rgw_answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.rgw_port), timeout=2) as sock:
                sock.sendall(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                return sock.recv(16).startswith(b"HTTP/1.")
        except OSError:
            return False

    def stop(self, timeout: float = 20) -> None:
        """Stop every daemon by its PID: SIGTERM, then SIGKILL after ``timeout``."""
        run = self.workdir / "run"
        pids = dict(self.pids)
        for pid_file in run.glob("*.pid") if run.exists() else ():
            try:
                pids.setdefault(pid_file.stem, int(pid_file.read_text()))
            except ValueError:
                continue
        self.pids.update(pids)
        # radosgw first (it unregisters from the OSDs on its way out), then the OSD and
        # the manager together, the monitor last.
        for group in ([n for n in pids if n.startswith("rgw.")],
                      [n for n in pids if n.startswith(("osd.", "mgr."))],
                      [n for n in pids if n.startswith("mon.")]):
            alive = [name for name in group if self._alive(name)]
            for name in alive:
                os.kill(pids[name], signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while any(self._alive(n) for n in alive) and time.monotonic() < deadline:
                time.sleep(0.1)
            for name in alive:
                if self._alive(name):
                    os.kill(pids[name], signal.SIGKILL)
                    while self._alive(name):
                        time.sleep(0.05)
        for pid_file in run.glob("*.pid") if run.exists() else ():
            pid_file.unlink()
        self.pids.clear()

    # -- persistence (the command line, shared clusters) ---------------------------------

    def info(self) -> dict:
        """What a client needs, as plain values (written to ``cluster.json``)."""
        data = asdict(self)
        data.update(workdir=str(self.workdir), conf=str(self.conf),
                    keyring=str(self.keyring), admin_keyring=str(self.admin_keyring),
                    rgw_endpoint=self.rgw_endpoint)
        return data

    def _save(self) -> None:
        (self.workdir / "cluster.json").write_text(json.dumps(self.info(), indent=2))

    @classmethod
    def load(cls, workdir: Path) -> Ceph:
        """The cluster described by ``workdir/cluster.json``."""
        data = json.loads((Path(workdir) / "cluster.json").read_text())
        names = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in data.items() if key in names})


@contextmanager
def shared(base_dir: Path, **kwargs) -> Iterator[Ceph]:
    """One cluster in ``base_dir/ceph`` for every process entering this with the same
    ``base_dir`` (pytest-xdist workers of one run): the first starts it, the last
    to leave stops it (by PID). Keyword arguments go to :class:`Ceph`."""
    workdir = Path(base_dir) / "ceph"
    workdir.mkdir(parents=True, exist_ok=True)
    lock_path, users_path = workdir.parent / "ceph.lock", workdir.parent / "ceph.users"
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            users = int(users_path.read_text() or 0) if users_path.exists() else 0
            if users == 0:
                if (workdir / "cluster.json").exists():  # left by an earlier, stopped user
                    shutil.rmtree(workdir)
                    workdir.mkdir()
                cluster = Ceph(workdir, **kwargs).start()
            else:
                cluster = Ceph.load(workdir)
            users_path.write_text(str(users + 1))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    try:
        yield cluster
    finally:
        with lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                users = int(users_path.read_text() or 1) - 1
                users_path.write_text(str(users))
                if users <= 0:
                    cluster.stop()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def main(argv: list[str]) -> int:
    if argv[:1] == ["install"]:
        install(Path(os.environ.get("VENV", ROOT / ".venv")))
        print("ceph:", _run(["ceph", "--version"]).strip())
        return 0
    if argv[:1] == ["up"] and len(argv) == 2:
        install(Path(os.environ.get("VENV", ROOT / ".venv")))
        cluster = Ceph(Path(argv[1])).start()
        print(json.dumps(cluster.info(), indent=2))
        return 0
    if argv[:1] == ["down"] and len(argv) == 2:
        Ceph.load(Path(argv[1])).stop()
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

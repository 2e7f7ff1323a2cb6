"""A one-host OpenStack Swift 2.30 (Debian) behind a real Keystone, for the swift tier.

Swift runs the production way: the proxy's pipeline has keystonemiddleware's
``authtoken`` and Swift's ``keystoneauth``, validating tokens against the
Keystone that tests/keystone/harness.py starts. One ring per server type with
one device and one replica (``mount_check = false``, ``workers = 0``), the device
directory under the work directory (it needs user xattrs: ext4 and tmpfs have
them), memcached on its own port, free loopback ports throughout. Every daemon's
PID goes to ``<workdir>/pids/<name>.pid``; ``down`` stops exactly those PIDs.

Swift's daemons run on Debian's /usr/bin/python3 (the packages ``swift
swift-proxy swift-account swift-container swift-object memcached
python3-keystonemiddleware``, installed by :func:`install`; idempotent).

Command line (a manual session)::

    python -m tests.swift.harness install          # the Debian packages only
    python -m tests.swift.harness up /tmp/sw       # Keystone + Swift; prints env lines
    python -m tests.swift.harness down /tmp/sw     # stop what `up` started there
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.keystone import harness as ks_harness

PACKAGES = ("swift", "swift-proxy", "swift-account", "swift-container", "swift-object",
            "memcached", "python3-keystonemiddleware")
SYSTEM_PYTHON = "/usr/bin/python3"
SERVERS = ("account", "container", "object")
SWIFT_PASSWORD = "swift-service-secret"
GLANCE_PASSWORD = "glance-swift-secret"
APT_LOCK_TIMEOUT = "900"


def installed() -> bool:
    """Whether Swift's servers, memcached and keystonemiddleware for them are here."""
    binaries = [f"/usr/bin/swift-{name}-server" for name in (*SERVERS, "proxy")]
    if not all(os.path.exists(path) for path in (*binaries, "/usr/bin/memcached",
                                                   "/usr/bin/swift-ring-builder")):
        return False
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import keystonemiddleware.auth_token, "
                            "swift.common.middleware.keystoneauth"],
                           capture_output=True, check=False)
    return probe.returncode == 0


def install() -> None:
    """apt-get install the packages (no-op when present); raises when that fails."""
    if installed():
        return
    if os.geteuid() != 0:
        raise RuntimeError("Swift is not installed and installing it needs root: "
                           "apt-get install " + " ".join(PACKAGES))
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "-o", f"DPkg::Lock::Timeout={APT_LOCK_TIMEOUT}", "install",
               "-y", "-q", "--no-install-recommends", *PACKAGES]
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:  # a stale package list: refresh it once and retry
        subprocess.run(["apt-get", "-o", f"DPkg::Lock::Timeout={APT_LOCK_TIMEOUT}",
                        "update", "-q"], capture_output=True, env=env, check=False)
        result = subprocess.run(command, capture_output=True, text=True, env=env,
                                check=False)
    if result.returncode != 0 or not installed():
        raise RuntimeError(f"apt-get install of Swift failed:\n{result.stderr[-3000:]}")


def _ring_script(workdir: Path, ports: dict[str, int]) -> str:
    """Build the three one-device rings in one interpreter (faster than 9 CLI calls)."""
    return f"""
from swift.common.ring import RingBuilder
for kind, port in {json.dumps(ports)}.items():
    builder = RingBuilder(6, 1, 1)
    builder.add_dev({{"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": port,
                     "device": "d1", "weight": 100, "meta": ""}})
    builder.rebalance()
    builder.save("{workdir}/etc/%s.builder" % kind)
    builder.get_ring().save("{workdir}/etc/%s.ring.gz" % kind)
"""


def _server_conf(workdir: Path, kind: str, port: int) -> str:
    return f"""[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = 0
devices = {workdir}/srv
mount_check = false
swift_dir = {workdir}/etc
log_name = {kind}-server
log_level = WARNING
[pipeline:main]
pipeline = {kind}-server
[app:{kind}-server]
use = egg:swift#{kind}
"""


def _proxy_conf(swift: Swift, keystone_url: str) -> str:
    return f"""[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {swift.ports["proxy"]}
workers = 0
swift_dir = {swift.workdir}/etc
log_name = proxy-server
log_level = WARNING
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats \
authtoken keystoneauth copy slo dlo versioned_writes symlink proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
www_authenticate_uri = {keystone_url}
auth_url = {keystone_url}
auth_type = password
project_domain_id = default
user_domain_id = default
project_name = service
username = swift
password = {SWIFT_PASSWORD}
delay_auth_decision = true
memcached_servers = 127.0.0.1:{swift.ports["memcached"]}
service_token_roles_required = true
[filter:keystoneauth]
use = egg:swift#keystoneauth
operator_roles = admin, member
reseller_admin_role = ResellerAdmin
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:{swift.ports["memcached"]}
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
[filter:versioned_writes]
use = egg:swift#versioned_writes
[filter:symlink]
use = egg:swift#symlink
"""


@dataclass
class Swift:
    """Swift's four servers and memcached under ``workdir``; ``url`` is the proxy."""

    workdir: Path
    ports: dict[str, int] = field(default_factory=lambda: {
        name: ks_harness.free_port() for name in (*SERVERS, "proxy", "memcached")})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['proxy']}"

    def storage_url(self, project_id: str) -> str:
        return f"{self.url}/v1/AUTH_{project_id}"

    @property
    def pid_dir(self) -> Path:
        return self.workdir / "pids"

    def _write_configs(self, keystone_url: str) -> None:
        etc = self.workdir / "etc"
        etc.mkdir(parents=True, exist_ok=True)
        (self.workdir / "srv" / "d1").mkdir(parents=True, exist_ok=True)
        (self.workdir / "log").mkdir(exist_ok=True)
        self.pid_dir.mkdir(exist_ok=True)
        suffix = os.urandom(8).hex()
        (etc / "swift.conf").write_text(
            f"[swift-hash]\nswift_hash_path_suffix = {suffix}\n"
            "swift_hash_path_prefix = glance-tests\n"
            "[storage-policy:0]\nname = Policy-0\ndefault = yes\n")
        for kind in SERVERS:
            (etc / f"{kind}-server.conf").write_text(
                _server_conf(self.workdir, kind, self.ports[kind]))
        (etc / "proxy-server.conf").write_text(_proxy_conf(self, keystone_url))
        subprocess.run([SYSTEM_PYTHON, "-c", _ring_script(self.workdir, {
            kind: self.ports[kind] for kind in SERVERS})], check=True,
            capture_output=True, timeout=120)

    def _spawn(self, name: str, command: list[str]) -> None:
        log = (self.workdir / "log" / f"{name}.log").open("ab")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=self.workdir,
                                   start_new_session=True)
        (self.pid_dir / f"{name}.pid").write_text(str(process.pid))

    def start(self, keystone_url: str, timeout: float = 60) -> Swift:
        """Write the configuration and rings, start everything, wait for the proxy."""
        install()
        self._write_configs(keystone_url)
        self._spawn("memcached", ["/usr/bin/memcached", "-l", "127.0.0.1", "-p",
                                  str(self.ports["memcached"]), "-U", "0", "-m", "32",
                                  "-u", "root" if os.geteuid() == 0 else str(os.getuid())])
        etc = self.workdir / "etc"
        for kind in (*SERVERS, "proxy"):
            self._spawn(kind, [SYSTEM_PYTHON, f"/usr/bin/swift-{kind}-server",
                               str(etc / f"{kind}-server.conf")])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [name for name, pid in self.pids().items() if not _alive(pid)]
            if dead:
                self.stop()
                raise RuntimeError(f"swift daemon(s) {dead} exited:\n" + self.logs())
            if all(self._healthy(kind) for kind in (*SERVERS, "proxy")):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("swift did not come up:\n" + self.logs())

    def _healthy(self, kind: str) -> bool:
        url = (f"{self.url}/healthcheck" if kind == "proxy"
               else f"http://127.0.0.1:{self.ports[kind]}/healthcheck")
        try:
            if kind == "proxy":
                return requests.get(url, timeout=1).status_code == 200
            # the storage servers answer REPLICATE-less probes; a 400 means "up"
            return requests.get(f"http://127.0.0.1:{self.ports[kind]}/d1/0",
                                timeout=1).status_code > 0
        except requests.RequestException:
            return False

    def logs(self) -> str:
        return "\n".join(f"== {path.name}\n{path.read_text(errors='replace')[-1500:]}"
                         for path in sorted((self.workdir / "log").glob("*.log")))

    def pids(self) -> dict[str, int]:
        return {path.stem: int(path.read_text()) for path in self.pid_dir.glob("*.pid")}

    def stop(self) -> None:
        """SIGTERM the recorded PIDs (their process groups), SIGKILL the stragglers."""
        stop_pids(self.pid_dir)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie of ours counts as gone
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def stop_pids(pid_dir: Path, timeout: float = 15) -> None:
    """Stop every process group whose leader's PID is recorded in ``pid_dir``."""
    pids = {path: int(path.read_text()) for path in pid_dir.glob("*.pid")}
    for pid in pids.values():
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids.values()):
        time.sleep(0.1)
    for path, pid in pids.items():
        if _alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        path.unlink(missing_ok=True)


# -- Keystone side -----------------------------------------------------------------------

@dataclass
class Deployment:
    """Keystone + Swift, with the identities the tests use (ids filled by ``up``)."""

    keystone: ks_harness.Keystone
    swift: Swift
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def auth_url(self) -> str:
        return self.keystone.url + "/v3"

    def stop(self) -> None:
        self.swift.stop()
        self.keystone.stop()


def register(keystone_url: str, swift: Swift) -> dict[str, str]:
    """The object-store service and endpoints, the swift and glance service users
    (project 'service') and a member user in 'project-a'; returns their ids."""
    from keystoneauth1 import session
    from keystoneauth1.identity import v3
    from keystoneclient.v3 import client

    auth = v3.Password(auth_url=keystone_url + "/v3", username="admin",
                       password=ks_harness.ADMIN_PASSWORD, project_name="admin",
                       user_domain_id="default", project_domain_id="default")
    ks = client.Client(session=session.Session(auth=auth))
    roles = {role.name: role for role in ks.roles.list()}
    for name in ("service", "ResellerAdmin"):
        if name not in roles:
            roles[name] = ks.roles.create(name=name)
    service = ks.projects.create(name="service", domain="default")
    project_a = ks.projects.create(name="project-a", domain="default")
    grants = {"swift": (SWIFT_PASSWORD, service, ["admin", "service"]),
              "glance": (GLANCE_PASSWORD, service, ["member", "service"]),
              "alice": ("pw-alice", project_a, ["member", "reader"])}
    ids = {"service_project": service.id, "project_a": project_a.id}
    for name, (password, project, role_names) in grants.items():
        user = ks.users.create(name=name, domain="default", password=password,
                               default_project=project)
        for role_name in role_names:
            ks.roles.grant(roles[role_name], user=user, project=project)
        ids[name] = user.id
    store = ks.services.create(name="swift", type="object-store")
    for interface in ("public", "internal", "admin"):
        ks.endpoints.create(service=store, url=swift.url + "/v1/AUTH_%(project_id)s",
                            interface=interface, region=ks_harness.REGION)
    return ids


def up(workdir: Path) -> Deployment:
    """Start Keystone and Swift under ``workdir`` (PIDs in ``workdir/swift/pids``).

    Swift only needs Keystone's URL to start, so both come up at the same time."""
    install()
    keystone = ks_harness.Keystone(workdir / "keystone")
    swift = Swift(workdir / "swift")
    swift.pid_dir.mkdir(parents=True, exist_ok=True)
    failure: list[BaseException] = []

    def start_swift() -> None:
        try:
            swift.start(keystone.url)
        except BaseException as err:  # noqa: BLE001 - re-raised below
            failure.append(err)

    thread = threading.Thread(target=start_swift, name="swift-start")
    thread.start()
    try:
        keystone.start()
        assert keystone.process is not None
        (swift.pid_dir / "keystone.pid").write_text(str(keystone.process.pid))
        thread.join()
        if failure:
            raise failure[0]
        ids = register(keystone.url, swift)
    except BaseException:
        thread.join()
        swift.stop()
        keystone.stop()
        raise
    deployment = Deployment(keystone, swift, ids)
    (workdir / "deployment.json").write_text(json.dumps({
        "auth_url": deployment.auth_url, "swift_url": swift.url, **ids}, indent=1))
    return deployment


def down(workdir: Path) -> None:
    """Stop what ``up`` started under ``workdir`` (by the recorded PIDs)."""
    stop_pids(workdir / "swift" / "pids")


def main(argv: list[str]) -> int:
    if argv[:1] == ["install"]:
        install()
        print("swift installed")
        return 0
    if argv[:1] in (["up"], ["down"]) and len(argv) == 2:
        workdir = Path(argv[1]).resolve()
        if argv[0] == "down":
            down(workdir)
            return 0
        if (workdir / "swift" / "pids").exists():
            down(workdir)
            shutil.rmtree(workdir, ignore_errors=True)
        started = time.monotonic()
        deployment = up(workdir)
        print(f"OS_AUTH_URL={deployment.auth_url}")
        print(f"SWIFT_URL={deployment.swift.url}")
        print(f"# up in {time.monotonic() - started:.1f} s; stop with: "
              f"python -m tests.swift.harness down {workdir}")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

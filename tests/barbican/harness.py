"""A real Barbican (key manager) on loopback, behind the Keystone of tests/keystone.

Barbican's pins differ from ours, so it lives in its own virtualenv
(``$BARBICAN_VENV``, default ``~/.cache/glance-tests/venv-barbican-<hash>``, outside
the checkout so that a fresh clone on the same machine reuses it), installed from
PyPI the first time (about 4 minutes) and reused afterwards. Each start gets a
work directory with a fresh SQLite database and a new simple_crypto
key-encryption key; gunicorn serves Barbican's paste pipeline (keystonemiddleware
``auth_token`` on ``/v1``) on a
free loopback port. :class:`KeyManager` also starts that Keystone (through
tests/keystone/harness.py), creates Barbican's service user and registers the
``key-manager`` service and its endpoints in the catalog.

Both servers' process ids go to ``<workdir>/pids``; ``down`` stops them by those ids.

Command line (for a manual session)::

    python -m tests.barbican.harness install          # just the virtualenvs
    python -m tests.barbican.harness up /tmp/km       # install + start; prints the URLs
    python -m tests.barbican.harness down /tmp/km     # stop what ``up`` started
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests import helpers
from tests.keystone import harness as keystone_harness

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("barbican>=20.0.0", "gunicorn")
# Outside the checkout, so a fresh clone (CI) on the same machine reuses it; named
# after PACKAGES, so changing them installs a new one.
_CACHE = Path.home() / ".cache" / "glance-tests"
VENV = Path(os.environ.get("BARBICAN_VENV") or _CACHE / (
    "venv-barbican-" + hashlib.sha256(" ".join(PACKAGES).encode()).hexdigest()[:12]))
STAMP = VENV / ".installed"
SERVICE_PASSWORD = "barbican-service-secret"
REGION = keystone_harness.REGION


def installed() -> bool:
    """Whether the Barbican virtualenv is ready (a finished install left its stamp)."""
    return STAMP.exists()


def install() -> Path:
    """Create the virtualenv and install Barbican + gunicorn (no-op when present;
    two runs installing at once take turns)."""
    if installed():
        return VENV
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / f".{VENV.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed():
            return VENV
        base_python = getattr(sys, "_base_executable", sys.executable)
        keystone_harness._run([base_python, "-m", "venv", "--clear", str(VENV)])
        (VENV / ".gitignore").write_text("*\n")
        keystone_harness._run([str(VENV / "bin" / "pip"), "install", "--quiet",
                               *PACKAGES], timeout=1800)
        for name in ("gunicorn", "barbican-manage"):
            if not (VENV / "bin" / name).exists():
                raise RuntimeError(f"Barbican did not install into {VENV} (no {name})")
        STAMP.write_text(" ".join(PACKAGES) + "\n")
    return VENV


def _config(workdir: Path, port: int, keystone_url: str) -> str:
    kek = base64.b64encode(os.urandom(32)).decode()
    return f"""[DEFAULT]
log_file = {workdir}/barbican.log
host_href = http://127.0.0.1:{port}
db_auto_create = True
[database]
connection = sqlite:///{workdir}/barbican.db
[secretstore]
enabled_secretstore_plugins = store_crypto
[crypto]
enabled_crypto_plugins = simple_crypto
[simple_crypto_plugin]
kek = {kek}
[keystone_authtoken]
www_authenticate_uri = {keystone_url}
auth_url = {keystone_url}
auth_type = password
username = barbican
password = {SERVICE_PASSWORD}
project_name = service
user_domain_id = default
project_domain_id = default
region_name = {REGION}
[oslo_policy]
enforce_scope = True
enforce_new_defaults = True
"""


PASTE = """[composite:main]
use = egg:Paste#urlmap
/: barbican_version
/v1: barbican_api

[pipeline:barbican_version]
pipeline = request_id versionapp

[pipeline:barbican_api]
pipeline = request_id authtoken context apiapp

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app

[app:versionapp]
paste.app_factory = barbican.api.app:create_version_app

[filter:context]
paste.filter_factory = barbican.api.middleware.context:ContextMiddleware.factory

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory

[filter:request_id]
paste.filter_factory = oslo_middleware.request_id:RequestId.factory
"""

# Barbican reads its files once at import; point it at ours, then load our pipeline.
APP = """import os
import sys

sys.argv = sys.argv[:1]
from barbican.common import config  # noqa: E402
from paste import deploy  # noqa: E402

config.parse_args(config.CONF, default_config_files=[os.environ["BARBICAN_CONF"]])
application = deploy.loadapp("config:" + os.environ["BARBICAN_PASTE"])
"""




@dataclass
class Barbican:
    """A running Barbican; ``url`` is its endpoint without /v1."""

    workdir: Path
    keystone_url: str
    port: int = field(default_factory=keystone_harness.free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> Barbican:
        """Write the configuration and serve it; returns when ``/v1`` answers 401."""
        return self.launch().wait(timeout)

    def launch(self) -> Barbican:
        """Start the server without waiting for it (it needs Keystone only per request)."""
        install()
        self.workdir.mkdir(parents=True, exist_ok=True)
        # Barbican's crypto plugins parse the default files again (~/.barbican/ first):
        # HOME is the work directory, so that is ours.
        conf = self.workdir / ".barbican" / "barbican.conf"
        conf.parent.mkdir(exist_ok=True)
        paste = self.workdir / "barbican-paste.ini"
        conf.write_text(_config(self.workdir, self.port, self.keystone_url))
        paste.write_text(PASTE)
        (self.workdir / "barbican_app.py").write_text(APP)
        log = (self.workdir / "wsgi-server.log").open("ab")
        # One worker: it creates the SQLite tables at start (db_auto_create).
        self.process = subprocess.Popen(
            [str(VENV / "bin" / "gunicorn"), "--bind", f"127.0.0.1:{self.port}",
             "--workers", "1", "--timeout", "120", "--chdir", str(self.workdir),
             "barbican_app:application"],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True,
            env={**os.environ, "HOME": str(self.workdir), "BARBICAN_CONF": str(conf),
                 "BARBICAN_PASTE": str(paste)})
        return self

    def wait(self, timeout: float = 90) -> Barbican:
        """Return when ``/v1`` answers (401: auth_token is in front of it)."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("barbican (gunicorn) exited:\n"
                                   + (self.workdir / "wsgi-server.log").read_text()[-3000:])
            try:
                if requests.get(self.url + "/v1/secrets", timeout=2).status_code == 401:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("barbican did not answer on " + self.url)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            helpers.stop_process_group(self.process.pid)
            self.process.wait()


def _register(keystone: keystone_harness.Keystone, barbican_url: str) -> None:
    """Barbican's service user (role ``service`` in project ``service``) and the
    ``key-manager`` service with its three endpoints."""
    token = _admin_token(keystone.url)
    headers = {"X-Auth-Token": token}
    api = keystone.url + "/v3"

    def call(method: str, path: str, body: dict | None = None) -> dict:
        response = requests.request(method, api + path, json=body, headers=headers,
                                    timeout=30)
        if response.status_code >= 400:
            raise RuntimeError(f"keystone {method} {path}: {response.status_code} "
                               f"{response.text[:300]}")
        return response.json() if response.content else {}

    projects = call("GET", "/projects?name=service")["projects"]
    project = projects[0] if projects else call(
        "POST", "/projects", {"project": {"name": "service", "domain_id": "default"}})["project"]
    user = call("POST", "/users", {"user": {
        "name": "barbican", "password": SERVICE_PASSWORD, "domain_id": "default",
        "default_project_id": project["id"]}})["user"]
    role = call("GET", "/roles?name=service")["roles"][0]
    call("PUT", f"/projects/{project['id']}/users/{user['id']}/roles/{role['id']}")
    service = call("POST", "/services", {"service": {
        "name": "barbican", "type": "key-manager"}})["service"]
    for interface in ("public", "internal", "admin"):
        call("POST", "/endpoints", {"endpoint": {
            "service_id": service["id"], "interface": interface, "url": barbican_url,
            "region_id": REGION}})


def _admin_token(keystone_url: str) -> str:
    response = requests.post(keystone_url + "/v3/auth/tokens", timeout=30, json={
        "auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"},
            "password": keystone_harness.ADMIN_PASSWORD}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
    response.raise_for_status()
    return response.headers["X-Subject-Token"]


@dataclass
class KeyManager:
    """Keystone + Barbican registered in it, in ``workdir``."""

    workdir: Path
    keystone: keystone_harness.Keystone | None = None
    barbican: Barbican | None = None

    @property
    def pid_file(self) -> Path:
        return self.workdir / "pids"

    def start(self) -> KeyManager:
        self.workdir.mkdir(parents=True, exist_ok=True)
        install()
        keystone_harness.install()
        self.keystone = keystone_harness.Keystone(self.workdir / "keystone")
        # Barbican boots while Keystone does: it asks Keystone only when a request comes.
        self.barbican = Barbican(self.workdir / "barbican", self.keystone.url)
        try:
            self.barbican.launch()
            self._record()
            self.keystone.start()
            self._record()
            _register(self.keystone, self.barbican.url)
            self.barbican.wait()
        except BaseException:
            self.stop()
            raise
        return self

    def _record(self) -> None:
        pids = {name: server.process.pid for name, server in
                (("keystone", self.keystone), ("barbican", self.barbican))
                if server is not None and server.process is not None}
        self.pid_file.write_text(json.dumps(pids))

    def stop(self) -> None:
        for server in (self.barbican, self.keystone):
            if server is not None:
                server.stop()
        self.pid_file.unlink(missing_ok=True)


def down(workdir: Path) -> None:
    """Stop the servers an ``up`` in ``workdir`` recorded (by process id)."""
    pid_file = workdir / "pids"
    if not pid_file.exists():
        return
    for pid in json.loads(pid_file.read_text()).values():
        helpers.stop_process_group(int(pid))
    pid_file.unlink()


def main(argv: list[str]) -> int:
    if argv[:1] == ["install"]:
        print(install(), keystone_harness.install())
        return 0
    if argv[:1] == ["up"] and len(argv) == 2:
        manager = KeyManager(Path(argv[1])).start()
        assert manager.keystone and manager.barbican
        print("keystone", manager.keystone.url, "barbican", manager.barbican.url)
        return 0
    if argv[:1] == ["down"] and len(argv) == 2:
        down(Path(argv[1]))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

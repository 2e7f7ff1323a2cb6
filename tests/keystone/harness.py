"""A real Keystone on loopback for the identity tests, installed and started on demand.

Keystone's pins may clash with ours, so it lives in its own virtualenv
(``$KEYSTONE_VENV``, default ``<repo>/.venv-keystone``), installed from PyPI the
first time and reused afterwards (idempotent). Each start gets a fresh SQLite
database and fernet keys in a work directory, ``keystone-manage bootstrap``, and
gunicorn (pure Python, nothing to compile) serving
``keystone.wsgi.api:application`` on a free loopback port.

Command line (for a manual session)::

    python -m tests.keystone.harness install      # just the virtualenv
    python -m tests.keystone.harness up /tmp/ks   # install + start; prints the URL
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("KEYSTONE_VENV", ROOT / ".venv-keystone"))
PACKAGES = ("keystone", "gunicorn")
ADMIN_PASSWORD = "keystone-admin-secret"
REGION = "RegionOne"


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}):\n"
                           f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result


def installed() -> bool:
    """Whether the Keystone virtualenv is ready."""
    return all((VENV / "bin" / name).exists() for name in ("keystone-manage", "gunicorn"))


def install() -> Path:
    """Create the virtualenv and install Keystone + gunicorn (no-op when present)."""
    if installed():
        return VENV
    base_python = getattr(sys, "_base_executable", sys.executable)
    _run([base_python, "-m", "venv", str(VENV)])
    (VENV / ".gitignore").write_text("*\n")
    _run([str(VENV / "bin" / "pip"), "install", "--quiet", *PACKAGES], timeout=1200)
    if not installed():
        raise RuntimeError(f"Keystone did not install into {VENV}")
    return VENV


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _key_repository(path: Path) -> None:
    """What ``keystone-manage fernet_setup`` writes: a staged key 0 and a primary key 1
    (written here to save two interpreter start-ups per run)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for index in ("0", "1"):
        key = path / index
        key.write_bytes(base64.urlsafe_b64encode(os.urandom(32)))
        key.chmod(0o600)


def _config(workdir: Path) -> str:
    return f"""[DEFAULT]
log_file = {workdir}/keystone.log
[database]
connection = sqlite:///{workdir}/keystone.db
[token]
provider = fernet
expiration = 7200
[fernet_tokens]
key_repository = {workdir}/fernet-keys
[fernet_receipts]
key_repository = {workdir}/fernet-receipts
[credential]
key_repository = {workdir}/credential-keys
[identity]
password_hash_rounds = 4
[cache]
enabled = false
"""


@dataclass
class Keystone:
    """A running Keystone; ``url`` is the identity endpoint without /v3."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        """gunicorn's access log: one line per request (logins are POST /v3/auth/tokens)."""
        return self.workdir / "access.log"

    @property
    def conf(self) -> Path:
        return self.workdir / "keystone.conf"

    def _manage(self, *args: str) -> None:
        _run([str(VENV / "bin" / "keystone-manage"), "--config-file", str(self.conf),
              *args], cwd=self.workdir, timeout=300)

    def start(self, timeout: float = 60) -> Keystone:
        """Bootstrap a fresh Keystone and serve it; returns when /v3 answers."""
        install()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(_config(self.workdir))
        self._manage("db_sync")
        for name in ("fernet-keys", "fernet-receipts", "credential-keys"):
            _key_repository(self.workdir / name)
        endpoint = f"{self.url}/v3"
        self._manage("bootstrap", "--bootstrap-password", ADMIN_PASSWORD,
                     "--bootstrap-admin-url", endpoint, "--bootstrap-public-url", endpoint,
                     "--bootstrap-internal-url", endpoint,
                     "--bootstrap-region-id", REGION)
        # Keystone parses sys.argv with oslo.config: hide gunicorn's arguments from it.
        (self.workdir / "keystone_app.py").write_text(
            "import sys\n\nsys.argv = sys.argv[:1]\n"
            "from keystone.wsgi.api import application  # noqa: E402,F401\n")
        log = (self.workdir / "wsgi-server.log").open("ab")
        self.process = subprocess.Popen(
            [str(VENV / "bin" / "gunicorn"), "--bind", f"127.0.0.1:{self.port}",
             "--workers", "2", "--timeout", "120", "--chdir", str(self.workdir),
             "--access-logfile", str(self.access_log),
             "keystone_app:application"],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir,
            start_new_session=True,
            env={**os.environ, "OS_KEYSTONE_CONFIG_FILES": str(self.conf)})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("keystone (gunicorn) exited:\n"
                                   + (self.workdir / "wsgi-server.log").read_text()[-3000:])
            try:
                if requests.get(endpoint, timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("keystone did not answer on " + endpoint)

    def stop(self) -> None:
        """Stop the WSGI server's process group (the one we started)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def main(argv: list[str]) -> int:
    if argv[:1] == ["install"]:
        print(install())
        return 0
    if argv[:1] == ["up"] and len(argv) == 2:
        keystone = Keystone(Path(argv[1])).start()
        print(keystone.url, keystone.process.pid if keystone.process else "")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""OpenStack Glance 33 serving under uwsgi, as /work/shared/GLANCE-33-BEHAVIOUR.md ran it.

``GlanceServer(directory, sections).start()`` writes a Glance config directory
(``glance-api.conf`` from ``sections``, Glance's shipped paste file plus a ``noauth``
flavor, the sdist's ``schema-image.json``) and starts uwsgi on a loopback port; it
does not touch the database (the caller runs Glance's glance-manage, see
:func:`glance_manage`). ``stop()`` ends that uwsgi by its process group id (recorded in
``uwsgi.pid`` too).

The ``noauth`` flavor is Glance's stock pipeline with its plain ``context`` filter and
no authtoken: Glance then trusts ``X-Roles`` / ``X-Project-Id`` / ``X-User-Id`` when a
request carries ``X-Identity-Status: Confirmed`` (:func:`identity`).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import requests

from tests import helpers
from tests.glance33 import harness

NOAUTH_PIPELINE = "cors http_proxy_to_wsgi versionnegotiation osprofiler context rootapp"


def identity(roles: str = "admin,member,reader", project: str = helpers.PROJECT_1,
             user: str = "u1") -> dict[str, str]:
    """Headers both implementations take as this identity (ours ignores the status)."""
    return {"X-Identity-Status": "Confirmed", **helpers.identity(roles, project, user)}


def glance_manage(config: Path, *args: str, timeout: float = 300
                  ) -> subprocess.CompletedProcess:
    """Glance 33's own ``glance-manage --config-file CONFIG ARGS`` (not checked)."""
    harness.install()
    return subprocess.run([str(harness.bin_path("glance-manage")), "--config-file",
                           str(config), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=config.parent)


def _paste_ini() -> str:
    text = (harness.etc_dir() / "glance-api-paste.ini").read_text()
    text = text.replace("[composite:api]\n", f"[composite:api]\nnoauth = {NOAUTH_PIPELINE}\n",
                        1)
    return text + ("\n[composite:glance-api-noauth]\n"
                   "paste.composite_factory = glance.api:root_app_factory\n"
                   "/: api\n/healthcheck: healthcheck\n")


def write_ini(path: Path, sections: dict[str, dict[str, object]]) -> Path:
    """An oslo.config file from ``{section: {key: value}}``."""
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {value}" for key, value in values.items()]
        lines.append("")
    path.write_text("\n".join(lines))
    return path


class GlanceServer:
    """Glance 33 under uwsgi (one process, ``threads`` threads) on a loopback port."""

    def __init__(self, directory: Path, sections: dict[str, dict[str, object]],
                 threads: int = 4) -> None:
        self.directory = directory
        self.etc = directory / "etc"
        self.port = helpers.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.threads = threads
        self.log_path = directory / "uwsgi.log"
        self.pid_path = directory / "uwsgi.pid"
        self.process: subprocess.Popen | None = None
        config: dict[str, dict[str, object]] = {"DEFAULT": {"bind_port": self.port}}
        for section, values in sections.items():
            config.setdefault(section, {}).update(values)
        config.setdefault("paste_deploy", {})["flavor"] = "noauth"
        self.etc.mkdir(parents=True, exist_ok=True)
        self.config = write_ini(self.etc / "glance-api.conf", config)
        (self.etc / "glance-api-paste.ini").write_text(_paste_ini())
        shutil.copy(harness.sdist_etc_dir() / "schema-image.json", self.etc)

    def start(self, timeout: float = 120) -> GlanceServer:
        harness.install()
        command = [str(harness.bin_path("uwsgi")),
                   "--http-socket", f"127.0.0.1:{self.port}",
                   "--module", "glance.wsgi.api:application",
                   "--virtualenv", str(harness.VENV),
                   "--py-sys-executable", str(harness.python()),
                   "--master", "--processes", "1", "--threads", str(self.threads),
                   "--enable-threads", "--lazy-apps", "--die-on-term", "--need-app",
                   "--http-chunked-input", "--add-header", "Connection: close",
                   "--buffer-size", "65535", "--socket-timeout", "10",
                   "--pidfile", str(self.pid_path)]
        env = {**os.environ, "OS_GLANCE_CONFIG_DIR": str(self.etc)}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                            cwd=self.directory, env=env,
                                            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uwsgi exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(f"{self.url}/healthcheck", timeout=2).status_code == 200:
                    return self
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"Glance 33 did not start:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        """SIGTERM to uwsgi's process group (it was started as a session leader)."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

"""OpenStack Glance 33 running under uwsgi, for tests that compare it with glance.

Set up as in /work/shared/GLANCE-33-BEHAVIOUR.md: SQLite, ``enabled_backends =
fs:file, web:http``, ``show_multiple_locations`` on, and a ``noauth`` paste flavor
(Glance's shipped pipeline with its own ``context`` filter and no authtoken), so
the caller is whoever the ``X-Identity-Status: Confirmed`` / ``X-Roles`` /
``X-Project-Id`` headers say (:func:`identity`). Extra config sections (a policy
file, loopback URLs allowed in ``[import_filtering_opts]``, say) go in
``sections``. One uwsgi worker with two threads by default: light on a shared
machine.

Command line (for a manual session)::

    python -m tests.glance33.server DIR      # start in DIR, print the URL, wait for ^C
"""

from __future__ import annotations

import configparser
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests import helpers
from tests.glance33 import harness

# Glance's "keystone" pipeline without authtoken: its context filter reads the headers.
NOAUTH_PIPELINE = "cors http_proxy_to_wsgi versionnegotiation osprofiler context rootapp"


def identity(roles: str = "admin,member,reader", project: str = helpers.PROJECT_1,
             user: str = "u1") -> dict[str, str]:
    """Headers that both Glance's context filter and ours (noauth) take as the caller."""
    return {"X-Identity-Status": "Confirmed", "X-Roles": roles, "X-Project-Id": project,
            "X-User-Id": user}


def _paste_ini() -> str:
    """Glance 33's shipped paste file, plus the ``noauth`` flavor."""
    text = (harness.etc_dir() / "glance-api-paste.ini").read_text()
    text = text.replace("[composite:api]\n",
                        f"[composite:api]\nnoauth = {NOAUTH_PIPELINE}\n", 1)
    return text + ("\n[composite:glance-api-noauth]\n"
                   "paste.composite_factory = glance.api:root_app_factory\n"
                   "/: api\n/healthcheck: healthcheck\n")


def _write_config(directory: Path, port: int, sections: dict | None) -> Path:
    etc = directory / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    for name in ("images", "staging", "tasks"):
        (directory / name).mkdir(exist_ok=True)
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_dict({
        "DEFAULT": {"enabled_backends": "fs:file, web:http",
                    "show_multiple_locations": "True",
                    "log_file": str(directory / "glance-api.log"),
                    "worker_self_reference_url": f"http://127.0.0.1:{port}"},
        "database": {"connection": f"sqlite:///{directory / 'glance.sqlite'}"},
        "glance_store": {"default_backend": "fs"},
        "fs": {"filesystem_store_datadir": str(directory / "images")},
        "os_glance_staging_store": {"filesystem_store_datadir": str(directory / "staging")},
        "os_glance_tasks_store": {"filesystem_store_datadir": str(directory / "tasks")},
        "paste_deploy": {"flavor": "noauth"},
    })
    parser.read_dict({section: {key: str(value) for key, value in values.items()}
                      for section, values in (sections or {}).items()})
    with (etc / "glance-api.conf").open("w") as handle:
        parser.write(handle)
    (etc / "glance-api-paste.ini").write_text(_paste_ini())
    shutil.copy(harness.sdist_etc_dir() / "schema-image.json", etc / "schema-image.json")
    return etc


class Glance33:
    """Glance 33 on a loopback port: ``start()``, ``url``, ``stop()``."""

    def __init__(self, directory: Path, sections: dict | None = None,
                 threads: int = 2) -> None:
        harness.install()  # the config below copies files of Glance's virtualenv
        self.directory = directory
        self.threads = threads
        self.port = helpers.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.etc = _write_config(directory, self.port, sections)
        self.log_path = directory / "uwsgi.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 180) -> Glance33:
        harness.install()
        # Without PYTHONPATH: our own glance package must not shadow Glance's.
        env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
               "OS_GLANCE_CONFIG_DIR": str(self.etc)}
        subprocess.run([str(harness.bin_path("glance-manage")), "--config-file",
                        str(self.etc / "glance-api.conf"), "db", "sync"],
                       check=True, capture_output=True, env=env, timeout=600)
        command = [str(harness.bin_path("uwsgi")), "--http-socket", f"127.0.0.1:{self.port}",
                   "--module", "glance.wsgi.api:application",
                   "--virtualenv", str(harness.VENV),
                   "--py-sys-executable", str(harness.python()),
                   "--master", "--processes", "1", "--threads", str(self.threads),
                   "--enable-threads", "--lazy-apps", "--die-on-term", "--need-app",
                   "--http-chunked-input", "--add-header", "Connection: close",
                   "--buffer-size", "65535", "--socket-timeout", "10", "--thunder-lock"]
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
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"Glance 33 did not start:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    glance = Glance33(Path(argv[0]).resolve()).start()
    print(glance.url, flush=True)
    # uwsgi runs in its own session: a SIGTERM to this process must stop it too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        glance.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The deployments under test, each a real server process on a loopback port.

* ``StandaloneDeployment``: the ``glance-api`` console script (gunicorn);
* ``ApacheDeployment``: Apache httpd (Debian ``apache2``) with mod_wsgi from PyPI,
  built for this venv's Python, serving the rendered ``httpd/glance-api.conf``
  vhost or the ``httpd/glance-api-prefix.conf`` ``/image`` snippet;
* ``UwsgiDeployment``: uwsgi from PyPI with the rendered ``httpd/glance-api-uwsgi.ini``.

The templates in ``httpd/`` are what runs: only their ``%NAME%`` placeholders are
filled in, with paths under a fresh directory in /tmp. mod_wsgi refuses to run its
daemon processes as root, so when the tests run as root those processes (and
uwsgi's workers, for symmetry) run as ``$GLANCE_DEPLOY_USER`` (default ``glance``),
which ``tools/install-deploy-deps.sh`` creates and lets read the venv.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from tests import helpers

ROOT = helpers.ROOT
HTTPD_DIR = ROOT / "httpd"
VENV = Path(sys.prefix)
APACHE_BINARIES = ("/usr/sbin/apache2", "/usr/sbin/httpd")
APACHE_MODULES = ("/usr/lib/apache2/modules", "/usr/lib64/httpd/modules")
PLACEHOLDER = re.compile(r"%([A-Z][A-Z_]*)%")
INSTALL_HINT = "run tools/install-deploy-deps.sh (as root) first"


class NotInstalled(Exception):
    """A prerequisite of this deployment is missing on this machine."""


def render(template: Path, values: dict[str, object]) -> str:
    """Fill every ``%NAME%`` placeholder of ``template``; all must be given."""
    text = template.read_text()
    missing = sorted(set(PLACEHOLDER.findall(text)) - set(values))
    if missing:
        raise KeyError(f"{template.name}: no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), text)


def service_user() -> tuple[str, str]:
    """The (user, group) the WSGI processes run as."""
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
    else:
        name = os.environ.get("GLANCE_DEPLOY_USER", "glance")
        try:
            entry = pwd.getpwnam(name)
        except KeyError as err:
            raise NotInstalled(f"no user {name!r}; {INSTALL_HINT}") from err
    import grp

    return entry.pw_name, grp.getgrgid(entry.pw_gid).gr_name


def wsgi_script() -> Path:
    """The installed ``glance/wsgi/api.py`` (found without importing it)."""
    spec = importlib.util.find_spec("glance.wsgi.api")
    assert spec is not None and spec.origin
    return Path(spec.origin)


def make_workdir(name: str) -> Path:
    """A fresh world-traversable directory owned by the service user."""
    path = Path(tempfile.mkdtemp(prefix=f"glance-{name}-", dir="/tmp"))
    path.chmod(0o755)
    return path


def chown_tree(path: Path, user: str, group: str) -> None:
    """Give ``path`` and everything below to the service user."""
    if os.geteuid() == 0:
        for item in [path, *path.rglob("*")]:
            shutil.chown(item, user, group)


class Deployment:
    """Base: a server process, its URL and its logs."""

    name = "base"
    #: path the API is mounted at ("" or "/image")
    prefix = ""

    def __init__(self, workdir: Path, config: dict[str, dict[str, object]] | None = None
                 ) -> None:
        self.workdir = workdir
        self.port = helpers.free_port()
        self.process: subprocess.Popen | None = None
        self.config_dir = workdir / "etc"
        self.extra_config = config or {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    def write_glance_config(self) -> Path:
        """glance-api.conf (noauth, SQLite, file store under the workdir), DB synced."""
        (self.workdir / "state" / "images").mkdir(parents=True, exist_ok=True)
        sections: dict[str, dict[str, object]] = {
            "DEFAULT": {"state_path": str(self.workdir / "state"), "workers": 2},
            "glance_store": {"filesystem_store_datadir": str(self.workdir / "state" / "images")},
        }
        for section, values in self.extra_config.items():
            sections.setdefault(section, {}).update(values)
        config = helpers.write_config(self.config_dir, sections, port=self.port)
        subprocess.run([str(VENV / "bin" / "glance-manage"), "--config-file", str(config),
                        "db", "sync"], check=True, capture_output=True, cwd=self.workdir)
        return config

    def start(self, timeout: float = 60) -> Deployment:
        raise NotImplementedError

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.logs()}")
            try:
                if requests.get(self.url + "/healthcheck", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer in {timeout}s:\n{self.logs()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def log_files(self) -> list[Path]:
        return sorted(self.workdir.glob("logs/*"))

    def logs(self, tail: int = 4000) -> str:
        parts = []
        for path in self.log_files():
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-tail:]}")
        return "\n".join(parts)

    def worker_pids(self) -> list[int]:
        """Processes that run the application (descendants of the server)."""
        assert self.process is not None
        return [pid for pid in _descendants(self.process.pid) if self.is_worker(pid)]

    def is_worker(self, pid: int) -> bool:
        return True


class StandaloneDeployment(Deployment):
    """``glance-api``: gunicorn with 2 workers."""

    name = "standalone"

    def start(self, timeout: float = 60) -> Deployment:
        config = self.write_glance_config()
        (self.workdir / "logs").mkdir(exist_ok=True)
        log = (self.workdir / "logs" / "glance-api.log").open("ab")
        self.process = subprocess.Popen(
            [str(VENV / "bin" / "glance-api"), "--config-file", str(config)],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True)
        self.wait_ready(timeout)
        return self

    def is_worker(self, pid: int) -> bool:
        return _ppid(pid) == self.process.pid


class ApacheDeployment(Deployment):
    """Apache httpd + mod_wsgi in daemon mode, 2 processes x 4 threads."""

    name = "apache"
    template = "glance-api.conf"

    def __init__(self, workdir: Path, processes: int = 2, threads: int = 4,
                 config: dict[str, dict[str, object]] | None = None) -> None:
        super().__init__(workdir, config)
        self.processes, self.threads = processes, threads
        self.binary = next((b for b in APACHE_BINARIES if os.access(b, os.X_OK)), None)
        self.modules = next((m for m in APACHE_MODULES if os.path.isdir(m)), None)
        if not self.binary or not self.modules:
            raise NotInstalled(f"Apache httpd is not installed; {INSTALL_HINT}")
        try:
            self.load_wsgi = subprocess.run(
                [str(VENV / "bin" / "mod_wsgi-express"), "module-config"],
                check=True, capture_output=True, text=True).stdout
        except (OSError, subprocess.CalledProcessError) as err:
            raise NotInstalled(f"mod_wsgi is not installed in {VENV}; {INSTALL_HINT}") from err
        self.user, self.group = service_user()

    def template_values(self) -> dict[str, object]:
        script = wsgi_script()
        return {"BIND_HOST": "127.0.0.1", "PUBLICPORT": self.port, "USER": self.user,
                "GROUP": self.group, "PROCESSES": self.processes, "THREADS": self.threads,
                "VIRTUALENV": VENV, "STATE_DIR": self.workdir / "state",
                "WSGI_SCRIPT": script, "WSGI_DIR": script.parent,
                "APACHE_LOG_DIR": self.workdir / "logs"}

    def main_config(self) -> str:
        """httpd.conf: a minimal server that includes the rendered template."""
        work = self.workdir
        lines = [
            f'ServerRoot "{work}"',
            "ServerName 127.0.0.1",
            f"PidFile {work}/run/httpd.pid",
            f"DefaultRuntimeDir {work}/run",
            f"ErrorLog {work}/logs/error.log",
            "LogLevel warn wsgi:info",
            "Timeout 300",
            *(f"LoadModule {mod}_module {self.modules}/mod_{mod}.so"
              for mod in ("mpm_event", "authz_core", "setenvif")),
            self.load_wsgi.strip(),
            f"WSGISocketPrefix {work}/run/wsgi",
            "WSGIRestrictEmbedded On",
            *self.server_lines(),
            f"Include {work}/sites/{self.template}",
        ]
        if os.geteuid() == 0:
            lines[2:2] = [f"User {self.user}", f"Group {self.group}"]
        return "\n".join(lines) + "\n"

    def server_lines(self) -> list[str]:
        return []

    def start(self, timeout: float = 60) -> Deployment:
        for sub in ("run", "logs", "sites"):
            (self.workdir / sub).mkdir(exist_ok=True)
        self.write_glance_config()
        site = render(HTTPD_DIR / self.template, self.template_values())
        (self.workdir / "sites" / self.template).write_text(site)
        (self.workdir / "httpd.conf").write_text(self.main_config())
        chown_tree(self.workdir, self.user, self.group)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
               "OS_GLANCE_CONFIG_DIR": str(self.config_dir)}
        check = subprocess.run([self.binary, "-t", "-f", str(self.workdir / "httpd.conf")],
                               capture_output=True, text=True, env=env)
        if check.returncode:
            raise RuntimeError(f"apache2 -t failed:\n{check.stderr}")
        self.process = subprocess.Popen(
            [self.binary, "-f", str(self.workdir / "httpd.conf"), "-DFOREGROUND"],
            stdout=(self.workdir / "logs" / "stdout.log").open("ab"),
            stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.wait_ready(timeout)
        return self

    def is_worker(self, pid: int) -> bool:
        return _cmdline(pid).startswith("(wsgi:glance-api")


class ApachePrefixDeployment(ApacheDeployment):
    """The ``/image`` path-prefix snippet, included in the main server."""

    name = "apache-prefix"
    prefix = "/image"
    template = "glance-api-prefix.conf"

    def server_lines(self) -> list[str]:
        return [f"Listen 127.0.0.1:{self.port}"]


class UwsgiDeployment(Deployment):
    """uwsgi serving HTTP itself, 2 processes x 4 threads."""

    name = "uwsgi"

    def __init__(self, workdir: Path, processes: int = 2, threads: int = 4,
                 config: dict[str, dict[str, object]] | None = None) -> None:
        super().__init__(workdir, config)
        self.processes, self.threads = processes, threads
        self.binary = VENV / "bin" / "uwsgi"
        if not os.access(self.binary, os.X_OK):
            raise NotInstalled(f"uwsgi is not installed in {VENV}; {INSTALL_HINT}")
        self.user, self.group = service_user()

    def start(self, timeout: float = 60, wait: bool = True) -> Deployment:
        """Start uwsgi; with ``wait``, until the API answers."""
        (self.workdir / "logs").mkdir(exist_ok=True)
        self.write_glance_config()
        ini = self.workdir / "glance-api-uwsgi.ini"
        ini.write_text(render(HTTPD_DIR / "glance-api-uwsgi.ini", {
            "BIND": f"127.0.0.1:{self.port}", "USER": self.user, "GROUP": self.group,
            "PROCESSES": self.processes, "THREADS": self.threads, "VIRTUALENV": VENV,
            "CONFIG_DIR": self.config_dir}))
        chown_tree(self.workdir, self.user, self.group)
        self.process = subprocess.Popen(
            [str(self.binary), "--ini", str(ini)],
            stdout=(self.workdir / "logs" / "uwsgi.log").open("ab"),
            stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True)
        if wait:
            self.wait_ready(timeout)
        return self

    def is_worker(self, pid: int) -> bool:
        return _ppid(pid) == self.process.pid


DEPLOYMENTS: dict[str, type[Deployment]] = {
    cls.name: cls for cls in (StandaloneDeployment, ApacheDeployment,
                              ApachePrefixDeployment, UwsgiDeployment)}


def _ppid(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return -1
    return int(stat.rsplit(")", 1)[1].split()[1])


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            children.setdefault(_ppid(int(entry.name)), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])

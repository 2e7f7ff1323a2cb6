"""Test helpers: identities, config files and a real glance-api server process."""

import configparser
import fcntl
import os
import pty
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PROJECT_1, PROJECT_2 = "8f3a0b7e1c2d4e5f9a6b7c8d9e0f1a2b", "1b2c3d4e5f6a4b8c9d0e1f2a3b4c5d6e"


def identity(roles: str = "admin,member,reader", project: str | None = PROJECT_1,
             user: str = "u1") -> dict[str, str]:
    """Trusted-header identity for the noauth flavor."""
    headers = {"X-Roles": roles, "X-User-Id": user}
    if project is not None:
        headers["X-Project-Id"] = project
    return headers


ADMIN = identity("admin,member,reader")
MEMBER = identity("member,reader")
READER = identity("reader")
OTHER_MEMBER = identity("member,reader", project=PROJECT_2, user="u2")


def wait_until(predicate, timeout: float = 30, interval: float = 0.1) -> bool:
    """Poll ``predicate`` until it is true (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def stop_process_group(pid: int, timeout: float = 20) -> None:
    """SIGTERM the process group ``pid`` leads (started with a new session), wait up to
    ``timeout`` seconds for it to go, then SIGKILL what is left."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def flock_held(path: str) -> bool:
    """Whether another open file description holds the flock of ``path`` now."""
    fd = os.open(path, os.O_RDONLY | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(directory: Path, sections: dict[str, dict[str, object]] | None = None,
                 port: int | None = None) -> Path:
    """Write glance-api.conf into ``directory`` with state under it; returns the path."""
    directory.mkdir(parents=True, exist_ok=True)
    parser = configparser.ConfigParser(interpolation=None)
    parser["DEFAULT"] = {"state_path": str(directory / "state"),
                         "bind_port": str(port or free_port()), "workers": "2"}
    parser["paste_deploy"] = {"flavor": "noauth"}
    for section, values in (sections or {}).items():
        if section not in parser:
            parser[section] = {}
        for key, value in values.items():
            parser[section][key] = str(value)
    path = directory / "glance-api.conf"
    with path.open("w") as handle:
        parser.write(handle)
    return path


class Server:
    """A real ``glance-api`` process on a loopback port."""

    def __init__(self, config_path: Path) -> None:
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(config_path)
        self.config_path = config_path
        self.port = int(parser["DEFAULT"]["bind_port"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.state_path = Path(parser["DEFAULT"]["state_path"])
        self.log_path = config_path.parent / "glance-api.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 90, healthy: bool = True) -> "Server":
        """Start and wait until ``/healthcheck`` answers 200 (``healthy``), or until
        the server answers at all (``healthy=False``: its database may be down)."""
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "glance.cmd.api", "--config-file", str(self.config_path)],
            stdout=log, stderr=subprocess.STDOUT, cwd=str(self.config_path.parent),
            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"glance-api exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                if healthy:
                    ready = requests.get(self.url + "/healthcheck", timeout=1).status_code == 200
                else:
                    ready = bool(requests.get(self.url + "/", timeout=1).status_code)
                if ready:
                    return self
            except (requests.ConnectionError, requests.Timeout):  # workers still booting
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"glance-api did not start:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


GLANCE_CLI = str(Path(sys.executable).with_name("glance"))


def glance_cli(server: "Server", *args: str) -> str:
    """Run python-glanceclient's ``glance`` against ``server`` (noauth, dummy token) with a
    terminal as stdin, so commands like image-create upload no data; returns stdout."""
    primary, secondary = pty.openpty()
    try:
        result = subprocess.run(
            [GLANCE_CLI, "--os-image-url", server.url, "--os-auth-token", "x", *args],
            stdin=secondary, capture_output=True, text=True, timeout=60,
            env={**os.environ, "OS_IMAGE_API_VERSION": "2"})
    finally:
        os.close(primary)
        os.close(secondary)
    assert result.returncode == 0, result.stderr
    return result.stdout


def table_field(output: str, name: str) -> str:
    """The value of row ``name`` in a glance CLI property table."""
    return next(line.split("|")[2].strip() for line in output.splitlines()
                if line.startswith(f"| {name} "))

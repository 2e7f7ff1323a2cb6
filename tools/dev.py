#!/usr/bin/env python3
"""Developer bootstrap: the README's two commands.

    python3 tools/dev.py serve   # the API on 127.0.0.1:9292 (SQLite, file store, noauth)
    python3 tools/dev.py serve --port 9393 --bind 0.0.0.0   # elsewhere
    python3 tools/dev.py test    # the whole test suite

Needs only python3: creates .venv, installs glance (editable) with its test
extras, and for ``test`` makes sure the database and message-bus services the
suite talks to are running (starting them if they are installed but stopped).
Stdlib only.
"""

import argparse
import hashlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".glance-installed"

# name, port, command that starts it when installed but stopped
SERVICES = [
    ("MariaDB", 3306, "start-stop-daemon --start --oknodo --background "
                      "--exec /usr/sbin/mariadbd"),
    ("PostgreSQL", 5432, "pg_ctlcluster --skip-systemctl-redirect "
                         "$(ls /etc/postgresql) main start"),
    ("RabbitMQ", 5672, "rabbitmq-server -detached"),
]


def _run(cmd: list[str], **kwargs) -> None:
    subprocess.run(cmd, check=True, **kwargs)


def _install_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("setup.cfg", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ensure_venv() -> None:
    """Create .venv and (re)install glance when setup.cfg changed."""
    if not PYTHON.exists():
        print("Creating .venv ...", flush=True)
        _run([sys.executable, "-m", "venv", str(VENV)])
        _run([str(PYTHON), "-m", "pip", "install", "-q", "--upgrade", "pip", "setuptools",
              "wheel"])
    fingerprint = _install_fingerprint()
    if STAMP.exists() and STAMP.read_text() == fingerprint:
        return
    print("Installing glance and its test dependencies into .venv ...", flush=True)
    _run([str(PYTHON), "-m", "pip", "install", "-q", "-e", f"{ROOT}[test]"])
    STAMP.write_text(fingerprint)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def ensure_services() -> None:
    """Start the local MariaDB, PostgreSQL and RabbitMQ if they are stopped."""
    for name, port, command in SERVICES:
        if _port_open(port):
            continue
        print(f"{name} is not answering on {port}; starting it ...", flush=True)
        subprocess.run(command, shell=True, check=False)
        deadline = time.monotonic() + 60
        while not _port_open(port) and time.monotonic() < deadline:
            time.sleep(1)
        if not _port_open(port):
            sys.exit(f"{name} did not start on 127.0.0.1:{port}; the DB and notification "
                     "tests need it (see doc/source/contributor/testing.rst).")


def serve(args: list[str]) -> int:
    """Run glance-api with etc/glance-api.conf; ``--port N`` / ``--bind HOST`` set
    ``[DEFAULT] bind_port`` / ``bind_host`` (through oslo.config's environment
    variables, which win over the files); other arguments go to glance-api."""
    parser = argparse.ArgumentParser(prog="tools/dev.py serve", add_help=False)
    parser.add_argument("--port", type=int, help="port to listen on (default 9292)")
    parser.add_argument("--bind", metavar="HOST", help="address to listen on "
                        "(default 127.0.0.1; 0.0.0.0 for every interface)")
    options, rest = parser.parse_known_args(args)
    ensure_venv()
    os.chdir(ROOT)
    if options.port is not None:
        os.environ["OS_DEFAULT__BIND_PORT"] = str(options.port)
    if options.bind is not None:
        os.environ["OS_DEFAULT__BIND_HOST"] = options.bind
    command = [str(VENV / "bin" / "glance-api"), "--config-file",
               str(ROOT / "etc" / "glance-api.conf"), *rest]
    os.execv(command[0], command)
    return 0  # not reached


def ensure_deploy_servers() -> None:
    """Install Apache + mod_wsgi and uwsgi for the deployment tier (needs root).

    On CI (``CI`` set) the tier is then required: a missing server fails it
    instead of skipping it.
    """
    script = ROOT / "tools" / "install-deploy-deps.sh"
    if os.geteuid() != 0 or not script.exists():
        print("Not root: the Apache/uwsgi deployment tests will be skipped unless those "
              "servers are installed (sudo tools/install-deploy-deps.sh).", flush=True)
        return
    subprocess.run(["bash", str(script)], cwd=ROOT, check=True)
    if os.environ.get("CI"):
        os.environ["GLANCE_DEPLOY_REQUIRED"] = "1"


def ensure_ceph() -> None:
    """Install Ceph and link its python bindings into the venv before pytest imports the
    Ceph and S3 tiers (root only; the tier itself reports when Ceph is missing)."""
    if os.geteuid() != 0 or os.environ.get("GLANCE_SKIP_CEPH"):
        return
    result = subprocess.run([str(PYTHON), "-m", "tests.ceph.harness", "install"], cwd=ROOT,
                            check=False)
    if result.returncode != 0:
        print("Ceph could not be installed: the Ceph and S3 tiers will fail on CI.",
              flush=True)


def test(args: list[str]) -> int:
    ensure_venv()
    ensure_services()
    ensure_deploy_servers()
    ensure_ceph()
    workers = os.environ.get("GLANCE_TEST_WORKERS", "2")
    pytest = [str(PYTHON), "-m", "pytest", "-p", "no:cacheprovider", "-q"]
    if args:
        runs = [pytest + ["-n", workers, "--dist", "loadfile", *args]]
    else:
        # Tests that stop a shared database server run alone, after everything else.
        runs = [pytest + ["-n", workers, "--dist", "loadfile", "-m", "not db_outage",
                          "tests"],
                pytest + ["-m", "db_outage", "tests"]]
    for command in runs:
        print("+", " ".join(command), flush=True)
        result = subprocess.run(command, cwd=ROOT, check=False)
        if result.returncode == 5:
            print("pytest collected no tests: that is a failure here.", file=sys.stderr)
            return 1
        if result.returncode != 0:
            return result.returncode
    return 0


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("serve", "test"):
        print(__doc__)
        return 2
    action, rest = sys.argv[1], sys.argv[2:]
    return serve(rest) if action == "serve" else test(rest)


if __name__ == "__main__":
    sys.exit(main())

"""``--version`` and ``--help`` of the console scripts, as an operator runs them."""

import os
import signal
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import requests

from tests import helpers

BIN = Path(sys.executable).parent
PROGRAMS = {
    "glance-api": "OpenStack Images API v2 server",
    "glance-manage": "Database administration of the OpenStack Images API v2 server",
    "glance-scrubber": "Reclaims the data of deleted images of the OpenStack Images API v2",
}


def _run(program: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / program), *args], capture_output=True, text=True,
                          timeout=120, cwd="/")


@pytest.mark.parametrize("program", PROGRAMS)
def test_version_is_the_installed_distribution(program):
    result = _run(program, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == metadata.version("glance")
    assert result.stderr == ""


@pytest.mark.parametrize(("program", "description"), PROGRAMS.items())
def test_help_says_what_the_program_is(program, description):
    result = _run(program, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {program} ")
    text = " ".join(result.stdout.split())
    assert description in text
    assert "--config-file" in text and result.stderr == ""


def test_dev_serve_listens_on_the_port_given(tmp_path):
    """``python3 tools/dev.py serve --port N --bind HOST`` (the README's quick start)."""
    port = helpers.free_port()
    # Keep the quick start's ./data out of the source tree: a later file wins.
    override = tmp_path / "override.conf"
    override.write_text(f"[DEFAULT]\nstate_path = {tmp_path / 'data'}\nworkers = 1\n")
    process = subprocess.Popen(
        [sys.executable, str(helpers.ROOT / "tools" / "dev.py"), "serve", "--port",
         str(port), "--bind", "127.0.0.1", "--config-file", str(override)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        def healthy() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{port}/healthcheck",
                                    timeout=1).status_code == 200
            except requests.RequestException:
                return False
        assert helpers.wait_until(healthy, timeout=90), process.stderr
        assert (tmp_path / "data").is_dir()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


# eventlet (a dependency of oslo.service, imported through oslo.messaging, and of
# futurist, imported through glance_store) warns on import; nothing of ours uses it.
EVENTLET = "Eventlet is deprecated"


def test_glance_api_starts_without_the_eventlet_warning(start_server):
    server = start_server(name="no-eventlet-warning")
    assert EVENTLET not in server.log_path.read_text()  # its stdout and stderr


@pytest.mark.parametrize("code", ["import glance.api.app", "import glance.conf",
                                  "import glance.wsgi.api"])
def test_importing_glance_prints_no_eventlet_warning(tmp_path, code):
    """Also for a WSGI script of one's own, or a tool that loads glance's options."""
    config = helpers.write_config(tmp_path)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path,
                            env={**os.environ, "OS_GLANCE_CONFIG_FILE": str(config)})
    assert result.returncode == 0, result.stderr
    assert EVENTLET not in result.stderr

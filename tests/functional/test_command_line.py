"""``--version`` and ``--help`` of the console scripts, as an operator runs them."""

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

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

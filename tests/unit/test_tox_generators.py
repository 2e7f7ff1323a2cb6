"""The sample generators of tox.ini (``tox -e genpolicy``, ``tox -e genconfig``) run as
written there, with the tools of this environment; output goes to a temp dir."""

import configparser
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _tox() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini")
    return parser


def tox_commands(env: str) -> list[list[str]]:
    lines = _tox()[f"testenv:{env}"]["commands"].strip().splitlines()
    return [shlex.split(line) for line in lines if line.strip()]


def tox_setenv(env: str) -> dict[str, str]:
    """The env's ``setenv`` (tox takes [testenv]'s when the env has none)."""
    parser = _tox()
    text = parser[f"testenv:{env}"].get("setenv", parser["testenv"].get("setenv", ""))
    pairs = [line.strip().split("=", 1) for line in text.splitlines() if "=" in line]
    return {key: value for key, value in pairs}


def run(command: list[str], output: Path, env: str) -> subprocess.CompletedProcess:
    """``command`` of tox env ``env`` from the repository root, with its setenv, its
    output file moved to ``output`` (a later --output-file wins over the generator
    config's output_file)."""
    args = [str(BIN / command[0]), *command[1:], "--output-file", str(output)]
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **tox_setenv(env)})


@pytest.mark.parametrize("env", ["genpolicy", "genconfig"])
def test_tox_generator_commands_run(tmp_path, env):
    commands = tox_commands(env)
    assert commands
    for number, command in enumerate(commands):
        output = tmp_path / f"{number}.sample"
        result = run(command, output, env)
        assert result.returncode == 0, result.stderr
        assert output.stat().st_size > 1000
        assert "Eventlet" not in result.stderr


def test_genpolicy_writes_the_shipped_sample(tmp_path):
    (command,) = tox_commands("genpolicy")
    output = tmp_path / "policy.yaml.sample"
    assert run(command, output, "genpolicy").returncode == 0
    assert output.read_text() == (ROOT / "etc" / "policy.yaml.sample").read_text()

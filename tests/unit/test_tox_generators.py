"""The sample generators of tox.ini (``tox -e genpolicy``, ``tox -e genconfig``) run as
written there, with the tools of this environment; output goes to a temp dir."""

import configparser
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def tox_commands(env: str) -> list[list[str]]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini")
    lines = parser[f"testenv:{env}"]["commands"].strip().splitlines()
    return [shlex.split(line) for line in lines if line.strip()]


def run(command: list[str], output: Path) -> subprocess.CompletedProcess:
    """``command`` from the repository root, its output file moved to ``output``
    (a later --output-file wins over the generator config's output_file)."""
    args = [str(BIN / command[0]), *command[1:], "--output-file", str(output)]
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("env", ["genpolicy", "genconfig"])
def test_tox_generator_commands_run(tmp_path, env):
    commands = tox_commands(env)
    assert commands
    for number, command in enumerate(commands):
        output = tmp_path / f"{number}.sample"
        result = run(command, output)
        assert result.returncode == 0, result.stderr
        assert output.stat().st_size > 1000


def test_genpolicy_writes_the_shipped_sample(tmp_path):
    (command,) = tox_commands("genpolicy")
    output = tmp_path / "policy.yaml.sample"
    assert run(command, output).returncode == 0
    assert output.read_text() == (ROOT / "etc" / "policy.yaml.sample").read_text()

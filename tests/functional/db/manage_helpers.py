"""Run the real ``glance-manage`` console command against a config file."""

import os
import subprocess
import sys
from pathlib import Path


def write_config(directory: Path, connection: str) -> Path:
    path = directory / "glance-api.conf"
    path.write_text(f"[DEFAULT]\nstate_path = {directory / 'state'}\n"
                    f"[paste_deploy]\nflavor = noauth\n"
                    f"[database]\nconnection = {connection}\n")
    return path


def manage(config: Path, *args: str) -> subprocess.CompletedProcess:
    """``glance-manage --config-file CONFIG ARGS``; returns the finished process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_GLANCE")}
    return subprocess.run([sys.executable, "-m", "glance.cmd.manage", "--config-file",
                           str(config), *args], capture_output=True, text=True, env=env,
                          timeout=120)

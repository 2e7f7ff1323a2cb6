"""Run the real ``glance-scrubber`` command, and read back what it did."""

import configparser
import os
import re
import subprocess
import sys
from pathlib import Path

COMMAND = [sys.executable, "-m", "glance.cmd.scrubber"]
SCRUBBED = re.compile(r"Image (\S+) is scrubbed from location (\d+)")
NOT_FOUND = re.compile(r"Image (\S+): the data of location (\d+) was not found")
UNABLE = re.compile(r"Unable to scrub image (\S+) from location (\d+)")


def env() -> dict[str, str]:
    """The environment without glance-api's config variables, unbuffered output."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OS_GLANCE")}
    return {**clean, "PYTHONUNBUFFERED": "1"}


def write_ini(path: Path, sections: dict[str, dict[str, object]]) -> Path:
    """A small config file with ``sections``; returns its path."""
    parser = configparser.ConfigParser(interpolation=None)
    for section, values in sections.items():
        if section != "DEFAULT":
            parser[section] = {}
        for key, value in values.items():
            parser[section][key] = str(value)
    with path.open("w") as handle:
        parser.write(handle)
    return path


def config_args(*configs: Path) -> list[str]:
    return [arg for config in configs for arg in ("--config-file", str(config))]


def scrub(*configs: Path, args: tuple[str, ...] = (),
          timeout: float = 180) -> subprocess.CompletedProcess:
    """One ``glance-scrubber`` run to its end; returns the finished process."""
    return subprocess.run([*COMMAND, *config_args(*configs), *args], capture_output=True,
                          text=True, env=env(), timeout=timeout)


def start(*configs: Path, log: Path, args: tuple[str, ...] = ()) -> subprocess.Popen:
    """``glance-scrubber`` in the background, its output (the log) into ``log``."""
    with log.open("ab") as handle:
        return subprocess.Popen([*COMMAND, *config_args(*configs), *args], stdout=handle,
                                stderr=subprocess.STDOUT, env=env(),
                                start_new_session=True)


def scrubbed_locations(log: str) -> list[int]:
    """Location ids the log says were scrubbed (data removed), in order."""
    return [int(match[2]) for match in SCRUBBED.finditer(log)]


def not_found_locations(log: str) -> list[int]:
    """Location ids whose data the log says was already gone."""
    return [int(match[2]) for match in NOT_FOUND.finditer(log)]

"""qemu-img and qemu-nbd for the conversion tests: installed from Debian's
qemu-utils when missing (idempotent: nothing is done when both are on PATH).

On CI (``CI`` set) a failed install fails the tests; elsewhere they skip with
the reason.
"""

import os
import shutil
import subprocess

import pytest

TOOLS = ("qemu-img", "qemu-nbd")
APT = ["apt-get", "-o", "DPkg::Lock::Timeout=900", "-y", "-q"]


def _missing() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def _install() -> str | None:
    """Install qemu-utils; the reason it failed, or None."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "qemu-utils is not installed and apt-get cannot be run as root here"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*APT, "install", "--no-install-recommends", "qemu-utils"]
    result = subprocess.run(install, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:  # an old package list: update once, then again
        subprocess.run([*APT, "update"], capture_output=True, text=True, env=env,
                       check=False)
        result = subprocess.run(install, capture_output=True, text=True, env=env,
                                check=False)
    if result.returncode != 0:
        return f"apt-get install qemu-utils failed: {result.stderr.strip()[-500:]}"
    return None


def ensure() -> None:
    """qemu-img and qemu-nbd on PATH, or skip (fail on CI)."""
    if not _missing():
        return
    reason = _install()
    if reason is None and not _missing():
        return
    message = reason or f"{', '.join(_missing())} still missing after installing qemu-utils"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def qemu_img(*args: str) -> str:
    """Run ``qemu-img``; its stdout."""
    return subprocess.run(["qemu-img", *args], capture_output=True, text=True,
                          check=True).stdout

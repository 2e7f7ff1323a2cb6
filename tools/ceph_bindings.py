#!/usr/bin/env python3
"""Make Debian's python3-rados / python3-rbd importable in a virtualenv (idempotent).

PyPI has no rados/rbd bindings; Debian builds them for its CPython 3.11 as two
extension modules in /usr/lib/python3/dist-packages. A venv of the machine's
Python 3.11 loads them when only those two files are symlinked into its
site-packages (a .pth to dist-packages would work too, but would leak every
Debian package into the venv).

    python3 tools/ceph_bindings.py [VENV]     # default: .venv next to this repo

Prints the linked files; exits 1 when the Debian modules are missing (install
python3-rados python3-rbd) or the venv is not CPython 3.11. Stdlib only.
"""

import glob
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST_PACKAGES = Path("/usr/lib/python3/dist-packages")
MODULES = ("rados", "rbd")


def site_packages(venv: Path) -> Path:
    """The venv's purelib directory, asked from its own interpreter."""
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import sys, sysconfig; print(sys.version_info[:2] == (3, 11)); "
         "print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.split("\n")
    if out[0] != "True":
        raise SystemExit(f"{venv} is not CPython 3.11: Debian's rados/rbd will not load")
    return Path(out[1])


def link(venv: Path) -> list[Path]:
    """Symlink ``rados.cpython-311-*.so`` and ``rbd.cpython-311-*.so`` into the venv."""
    target_dir = site_packages(venv)
    linked = []
    for module in MODULES:
        found = sorted(glob.glob(str(DIST_PACKAGES / f"{module}.cpython-311-*.so")))
        if not found:
            raise SystemExit(f"{DIST_PACKAGES}/{module}.cpython-311-*.so is missing "
                             "(apt-get install python3-rados python3-rbd)")
        source = Path(found[0])
        dest = target_dir / source.name
        if dest.is_symlink() and dest.resolve() == source.resolve():
            linked.append(dest)
            continue
        if dest.exists() or dest.is_symlink():
            dest.unlink()
        dest.symlink_to(source)
        linked.append(dest)
    return linked


def main(argv: list[str]) -> int:
    venv = Path(argv[0]) if argv else ROOT / ".venv"
    for path in link(venv):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

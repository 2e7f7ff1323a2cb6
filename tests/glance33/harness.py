"""OpenStack Glance 33.0.0 itself, installed from PyPI, for the compatibility tier.

Glance's pins clash with ours, so it lives in its own virtualenv (``$GLANCE33_VENV``,
default ``<repo>/.venv-glance33``), installed the first time and reused afterwards
(idempotent, like tests/keystone/harness.py). Besides the wheel it keeps Glance's
sdist's ``etc/`` (the wheel lacks ``schema-image.json``) in ``<venv>/sdist-etc``.

What the tier reads from it: Glance's shipped files (``etc_dir()``), facts only
Glance's own code can tell (``run_python``: its option list, its policy defaults,
its image schema), and a running Glance (see ``server.py``).

Command line (for a manual session)::

    python -m tests.glance33.harness install      # the virtualenv; prints its path
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("GLANCE33_VENV", ROOT / ".venv-glance33"))
GLANCE_VERSION = "33.0.0"
# uwsgi is Glance's documented server; PyMySQL/psycopg2 for the MariaDB/PostgreSQL runs.
PACKAGES = (f"glance=={GLANCE_VERSION}", "uwsgi", "PyMySQL", "psycopg2-binary")
STAMP = VENV / ".glance33-installed"


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed ({result.returncode}):\n"
                           f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result


def installed() -> bool:
    """Whether the Glance 33 virtualenv is ready."""
    return STAMP.exists() and STAMP.read_text() == " ".join(PACKAGES)


def python() -> Path:
    """The Glance 33 virtualenv's interpreter."""
    return VENV / "bin" / "python"


def bin_path(name: str) -> Path:
    """A console script of the Glance 33 virtualenv (glance-manage, uwsgi, ...)."""
    return VENV / "bin" / name


def etc_dir() -> Path:
    """The files the Glance 33 wheel ships (glance-api.conf, glance-api-paste.ini, ...)."""
    return VENV / "etc" / "glance"


def sdist_etc_dir() -> Path:
    """``etc/`` of Glance 33's sdist (schema-image.json, property-protections samples)."""
    return VENV / "sdist-etc"


def _fetch_sdist_etc() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _run([str(VENV / "bin" / "pip"), "download", "--quiet", "--no-deps",
              "--no-binary", ":all:", "--dest", tmp, f"glance=={GLANCE_VERSION}"],
             timeout=600)
        archive = next(Path(tmp).glob("glance-*.tar.gz"))
        target = sdist_etc_dir()
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                parts = Path(member.name).parts
                if len(parts) >= 3 and parts[1] == "etc" and member.isfile():
                    member.name = str(Path(*parts[2:]))
                    tar.extract(member, target, filter="data")


def install() -> Path:
    """Create the virtualenv with Glance 33 (no-op when present); returns its path."""
    if installed():
        return VENV
    base_python = getattr(sys, "_base_executable", sys.executable)
    if not python().exists():
        _run([base_python, "-m", "venv", str(VENV)])
    (VENV / ".gitignore").write_text("*\n")
    _run([str(VENV / "bin" / "pip"), "install", "--quiet", *PACKAGES], timeout=1800)
    _fetch_sdist_etc()
    STAMP.write_text(" ".join(PACKAGES))
    return VENV


def glance_manage(config: Path, *args: str, timeout: float = 300
                  ) -> subprocess.CompletedProcess:
    """Glance 33's own ``glance-manage --config-file CONFIG ARGS``; the finished process
    (not checked). Without PYTHONPATH: our glance package must not shadow Glance's."""
    install()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([str(bin_path("glance-manage")), "--config-file", str(config),
                           *args], capture_output=True, text=True, timeout=timeout,
                          cwd=config.parent, env=env)


def run_python(code: str, *, env: dict | None = None, timeout: float = 300) -> str:
    """Run ``code`` with Glance 33's interpreter; returns its stdout."""
    install()
    return _run([str(python()), "-c", code], timeout=timeout, cwd=VENV,
                env={**os.environ, **(env or {})}).stdout


def run_json(code: str, **kwargs):
    """Run ``code`` (which prints one JSON document) in Glance 33; returns the document."""
    return json.loads(run_python(code, **kwargs))


def main(argv: list[str]) -> int:
    if argv[:1] == ["install"]:
        print(install())
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

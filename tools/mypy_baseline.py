#!/usr/bin/env python3
"""mypy on glance/, against the baseline of errors tolerated for now.

    python3 tools/mypy_baseline.py          # check: new errors, and fixed ones still listed
    python3 tools/mypy_baseline.py --write  # regenerate tests/mypy-baseline.txt

The baseline holds one line per error, ``path: error: message  [code]``, without
line numbers (so moving code does not change it); an error that occurs twice in a
file is listed twice. The baseline only shrinks: a new error fails the check, and
so does a listed error that no longer occurs (delete its line, or regenerate).
``tests/unit/test_mypy_baseline.py`` runs the check with the suite.

mypy's options are ``[tool.mypy]`` in pyproject.toml; its cache is
``.venv/.mypy_cache``, so a run after the first takes about a second. Runs with
``.venv``'s Python: started with another one, it creates ``.venv`` if needed (as
``tools/dev.py`` does) and runs itself there.
"""

import collections
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "tests" / "mypy-baseline.txt"
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
HEADER = """\
# mypy errors on glance/ tolerated for now, one per line, without line numbers.
# Only ever delete lines: fix an error, then delete its line (or regenerate with
# `python3 tools/mypy_baseline.py --write` and check that the diff only removes lines).
"""
_ERROR = re.compile(r"^(?P<path>[^:\s]+\.py):\d+(?::\d+)?: error: (?P<message>.*)$")
_LINE_NUMBER = re.compile(r"\bline \d+\b")


def normalise(output: str) -> list[str]:
    """mypy's error lines as baseline entries, sorted; notes and the summary dropped."""
    entries = []
    for line in output.splitlines():
        match = _ERROR.match(line.strip())
        if match:
            message = _LINE_NUMBER.sub("line N", match["message"])
            entries.append(f"{match['path']}: error: {message}")
    return sorted(entries)


def read_baseline(path: Path = BASELINE) -> list[str]:
    if not path.exists():
        return []
    return sorted(line for line in path.read_text().splitlines()
                  if line.strip() and not line.startswith("#"))


def compare(found: list[str], baseline: list[str]) -> tuple[list[str], list[str]]:
    """(errors not in the baseline, baseline entries that no longer occur), each
    counted: an entry listed twice needs two errors."""
    have, listed = collections.Counter(found), collections.Counter(baseline)
    return sorted((have - listed).elements()), sorted((listed - have).elements())


def run_mypy() -> list[str]:
    result = subprocess.run([sys.executable, "-m", "mypy", "glance"], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    if result.returncode not in (0, 1):  # 2: mypy itself failed (bad option, crash)
        raise RuntimeError(f"mypy failed (exit {result.returncode}):\n"
                           f"{result.stdout}{result.stderr}")
    return normalise(result.stdout)


def report(new: list[str], gone: list[str]) -> str:
    lines = []
    if new:
        lines.append(f"{len(new)} mypy error(s) not in {BASELINE.relative_to(ROOT)} "
                     "(fix them; the baseline does not grow):")
        lines += [f"  + {entry}" for entry in new]
    if gone:
        lines.append(f"{len(gone)} line(s) of {BASELINE.relative_to(ROOT)} no longer match "
                     "an error: delete them (or run python3 tools/mypy_baseline.py --write):")
        lines += [f"  - {entry}" for entry in gone]
    return "\n".join(lines)


def main(args: list[str]) -> int:
    if "--help" in args or "-h" in args:
        print(__doc__)
        return 0
    found = run_mypy()
    if "--write" in args:
        BASELINE.write_text(HEADER + "".join(f"{entry}\n" for entry in found))
        print(f"wrote {len(found)} entries to {BASELINE.relative_to(ROOT)}")
        return 0
    new, gone = compare(found, read_baseline())
    if new or gone:
        print(report(new, gone))
        return 1
    print(f"mypy: {len(found)} error(s), all in the baseline")
    return 0


if __name__ == "__main__":
    if importlib.util.find_spec("mypy") is None and Path(sys.executable) != VENV_PYTHON:
        sys.path.insert(0, str(ROOT / "tools"))
        import dev

        dev.ensure_venv()  # creates .venv with the test extras (mypy among them)
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), __file__, *sys.argv[1:]])
    sys.exit(main(sys.argv[1:]))

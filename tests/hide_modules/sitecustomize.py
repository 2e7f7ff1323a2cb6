"""Make installed packages look absent, for tests of missing optional dependencies.

Put this directory on ``PYTHONPATH`` and name the top-level modules in
``GLANCE_TEST_HIDDEN_MODULES`` (comma-separated): importing one of them, or
anything below it, raises ModuleNotFoundError as if it were not installed.
Python imports ``sitecustomize`` at start-up, before any other code runs.
"""

import importlib.abc
import os
import sys

HIDDEN = frozenset(name.strip() for name in
                   os.environ.get("GLANCE_TEST_HIDDEN_MODULES", "").split(",")
                   if name.strip())


class _Hider(importlib.abc.MetaPathFinder):
    """A finder consulted first that refuses the hidden modules."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


if HIDDEN:
    sys.meta_path.insert(0, _Hider())

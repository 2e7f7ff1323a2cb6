"""Fixtures of the Glance 33 compatibility tier: OpenStack Glance 33 itself, side by side.

Run with ``pytest tests/glance33`` (marker ``glance33``). The first run
installs Glance 33.0.0 into its own virtualenv (``$GLANCE33_VENV``, see
harness.py); later runs reuse it. Set GLANCE_SKIP_GLANCE33=1 to skip the tier
on a machine without PyPI.
"""

import os

import pytest

from tests.glance33 import harness


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/glance33" in str(item.fspath):
            item.add_marker(pytest.mark.glance33)
            if os.environ.get("GLANCE_SKIP_GLANCE33"):
                item.add_marker(pytest.mark.skip(reason="GLANCE_SKIP_GLANCE33 is set"))


@pytest.fixture(scope="session")
def glance33() -> harness.Path:
    """The Glance 33 virtualenv (installed on first use)."""
    return harness.install()

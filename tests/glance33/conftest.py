"""The Glance 33 compatibility tier (marker ``glance33``): tests that run OpenStack
Glance 33.0.0 itself, from its own virtualenv (harness.py), and compare.

Set GLANCE_SKIP_GLANCE33=1 to skip the tier (a machine without PyPI).
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


@pytest.fixture(scope="session", autouse=True)
def glance33_venv():
    """Glance 33's virtualenv, installed on first use."""
    if os.environ.get("GLANCE_SKIP_GLANCE33"):
        return None
    return harness.install()


@pytest.fixture(scope="session")
def glance33(glance33_venv):
    """The Glance 33 virtualenv, for tests that name it."""
    return glance33_venv

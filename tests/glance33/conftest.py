"""The OpenStack Glance 33 compatibility tier: every test under tests/glance33 gets the
``glance33`` marker and the Glance 33 virtualenv (harness.py installs it on first use).

Set GLANCE_SKIP_GLANCE33=1 to skip the tier on a machine without PyPI.
"""

import os

import pytest

from tests.glance33 import harness


def pytest_configure(config):
    config.addinivalue_line("markers", "glance33: runs OpenStack Glance 33 itself "
                                       "(tests/glance33)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/glance33" in str(item.fspath):
            item.add_marker(pytest.mark.glance33)
            if os.environ.get("GLANCE_SKIP_GLANCE33"):
                item.add_marker(pytest.mark.skip(reason="GLANCE_SKIP_GLANCE33 is set"))


@pytest.fixture(scope="session", autouse=True)
def glance33_venv():
    """The Glance 33 virtualenv, installed once per machine."""
    return harness.install()

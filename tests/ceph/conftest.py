"""Fixtures of the Ceph tier: one real Ceph cluster (tests/ceph/harness.py) per run.

``ceph_cluster`` (session) starts mon, mgr, a memstore OSD and radosgw in a work
directory shared by the pytest-xdist workers of the run (the first worker starts
it, the last one stops it by PID). The first run apt-installs Ceph 16.2 and links
its rados/rbd bindings into the venv (``tools/ceph_bindings.py``); later runs reuse
them. When Ceph cannot be installed the tier is skipped locally, and fails on CI
(``CI`` set). Set GLANCE_SKIP_CEPH=1 to skip it.
"""

import importlib
import os
from types import ModuleType

import pytest

from tests.ceph import harness


def bindings(name: str) -> ModuleType:
    """Import Debian's ``rados``/``rbd`` (linked into the venv by ``tools/dev.py test``
    or by the fixture); without them the module is skipped locally, an error on CI."""
    if os.environ.get("CI"):
        return importlib.import_module(name)
    return pytest.importorskip(name, reason="Ceph's python bindings are not installed "
                                            "(python -m tests.ceph.harness install)")


def pytest_configure(config):
    config.addinivalue_line("markers", "ceph: needs a real Ceph cluster (tests/ceph)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/ceph" in str(item.fspath):
            item.add_marker(pytest.mark.ceph)
            if os.environ.get("GLANCE_SKIP_CEPH") and not os.environ.get("CI"):
                item.add_marker(pytest.mark.skip(reason="GLANCE_SKIP_CEPH is set"))


def _run_dir(tmp_path_factory):
    """A directory every xdist worker of this run shares (the workers' basetemp parent)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def ceph_cluster(tmp_path_factory):
    """The running cluster (harness.Ceph): conf, keyring, user, pool, fsid, rgw_endpoint,
    s3_access_key, s3_secret_key, s3_region."""
    try:
        harness.install()
    except harness.NotInstalled as err:
        if os.environ.get("CI"):
            pytest.fail(f"Ceph is required on CI: {err}")
        pytest.skip(str(err))
    with harness.shared(_run_dir(tmp_path_factory)) as cluster:
        yield cluster

"""The cluster tier's fixtures: one three-node cluster per test module.

``cluster`` is PostgreSQL with a shared file store; test modules of the other
variants (test_cluster_rbd.py, ...) override it with one of the fixtures below and
rerun every test of test_cluster.py. Locally the tier skips when haproxy cannot
be installed or a database (or Ceph) is missing; on CI (``CI=1``) it fails instead.
"""

import os

import pytest

from tests.ceph import harness as ceph_harness
from tests.ceph.conftest import ceph_cluster  # noqa: F401 - the Ceph tier's fixture
from tests.cluster import galera, harness
from tests.stores.suite import multi_store_sections


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"cluster tier: {reason}")
    pytest.skip(f"cluster tier: {reason}")


def start(work_dir, **kwargs) -> harness.Cluster:
    """A running three-node cluster (``harness.Cluster`` keyword arguments)."""
    try:
        return harness.Cluster(work_dir, nodes=3, **kwargs).up()
    except (harness.PeerMissing, ceph_harness.NotInstalled) as err:
        _unavailable(str(err))
        raise  # not reached


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp("cluster")
    sections = multi_store_sections("primary", "file",
                                    {"filesystem_store_datadir": str(work_dir / "images")},
                                    work_dir)
    running = start(work_dir, sections=sections)
    yield running
    running.down()


@pytest.fixture(scope="module")
def rbd_cluster(request, tmp_path_factory):
    """PostgreSQL, RBD as the default store (the Ceph tier's cluster, pool ``images``)."""
    if os.environ.get("GLANCE_SKIP_CEPH") and not os.environ.get("CI"):
        pytest.skip("GLANCE_SKIP_CEPH is set")
    ceph = request.getfixturevalue("ceph_cluster")
    work_dir = tmp_path_factory.mktemp("cluster-rbd")
    running = start(work_dir, sections=harness.rbd_sections(ceph, work_dir),
                    store_objects=ceph.rbd_images)
    yield running
    running.down()


@pytest.fixture(scope="module")
def galera_cluster(request, tmp_path_factory):
    """A three-node Galera of its own (node i on Galera node i), RBD as default store."""
    if os.environ.get("GLANCE_SKIP_CEPH") and not os.environ.get("CI"):
        pytest.skip("GLANCE_SKIP_CEPH is set")
    try:
        galera.provider()
    except galera.GaleraMissing as err:
        _unavailable(str(err))
    ceph = request.getfixturevalue("ceph_cluster")
    work_dir = tmp_path_factory.mktemp("cluster-galera")
    running = start(work_dir, sections=harness.rbd_sections(ceph, work_dir),
                    store_objects=ceph.rbd_images, database=galera.Galera(work_dir))
    yield running
    running.down()

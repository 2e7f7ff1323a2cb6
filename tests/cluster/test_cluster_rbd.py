"""Every test of test_cluster.py on a cluster whose default store is Ceph RBD.

The kill -9 test then checks that a surviving node removes the dead node's partial
RBD image (listed in the pool, trash included, through the rbd bindings).
"""

import pytest

from tests.cluster.test_cluster import *  # noqa: F403 - the same tests, rerun here


@pytest.fixture(scope="module")
def cluster(rbd_cluster):
    return rbd_cluster

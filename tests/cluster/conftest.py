"""The cluster tier's fixture: one three-node cluster per test module.

Locally the tier skips when haproxy cannot be installed or PostgreSQL does not
answer; on CI (``CI=1``) it fails instead.
"""

import os

import pytest

from tests.cluster import harness
from tests.stores.suite import multi_store_sections


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp("cluster")
    sections = multi_store_sections("primary", "file",
                                    {"filesystem_store_datadir": str(work_dir / "images")},
                                    work_dir)
    try:
        running = harness.Cluster(work_dir, nodes=3, sections=sections).up()
    except harness.PeerMissing as err:
        if os.environ.get("CI"):
            pytest.fail(f"cluster tier: {err}")
        pytest.skip(f"cluster tier: {err}")
    yield running
    running.down()

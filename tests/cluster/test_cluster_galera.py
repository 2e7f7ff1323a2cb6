"""Every test of test_cluster.py on a three-node MariaDB Galera (tests/cluster/galera.py),
each glance node on its own Galera node, with Ceph RBD as the default store.

What Galera changes: a row written through one node is read through another (the
nodes run with ``wsrep_sync_wait = 1``), and ``SELECT ... FOR UPDATE`` locks on one
node only, so two survivors resetting a dead node's upload at once conflict at
certification (one gets a deadlock error and leaves it to the other). The checks
below add that nothing is written twice and that the cluster stays whole.
"""

import pytest
import sqlalchemy as sa

from tests.cluster.test_cluster import *  # noqa: F403 - the same tests, rerun here
from tests.cluster.test_cluster import _sql


@pytest.fixture(scope="module")
def cluster(galera_cluster):
    return galera_cluster


def test_zz_galera_is_whole_and_nothing_was_written_twice(cluster):
    """After every other test of the module (named to run last, after the kill)."""
    status = cluster.database.status()
    assert all(node["wsrep_cluster_size"] == "3" and node["wsrep_local_state_comment"]
               == "Synced" for node in status.values()), status
    # Each node's view of the database is the same (the same count of every table).
    tables = ("images", "image_properties", "image_locations", "tasks", "cached_images",
              "node_reference")
    counts = []
    for index in range(len(cluster.nodes)):
        counts.append({t: _sql_on(cluster, index, f"SELECT COUNT(*) FROM {t}")[0][0]
                       for t in tables})
    assert counts[0] == counts[1] == counts[2], counts
    # The kill test's clients name every image they create uniquely: none twice (a
    # create is never retried by haproxy, nor replayed by a Galera node).
    assert _sql(cluster, "SELECT COUNT(*) FROM images WHERE name LIKE 'load-%%' OR name "
                "LIKE 'up-%%'")[0][0] > 50
    assert not _sql(cluster, "SELECT name FROM images WHERE name LIKE 'load-%%' OR name "
                    "LIKE 'up-%%' GROUP BY name HAVING COUNT(*) > 1")
    # One row per (image, property name), one location per URL, one node row per URL.
    assert not _sql(cluster, "SELECT image_id, name FROM image_properties GROUP BY "
                    "image_id, name HAVING COUNT(*) > 1")
    assert not _sql(cluster, "SELECT image_id, value FROM image_locations WHERE NOT "
                    "deleted GROUP BY image_id, value HAVING COUNT(*) > 1")
    assert not _sql(cluster, "SELECT node_reference_url FROM node_reference GROUP BY "
                    "node_reference_url HAVING COUNT(*) > 1")


def _sql_on(cluster, index: int, statement: str) -> list:
    engine = sa.create_engine(cluster.database.url(index), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text(statement)))
    finally:
        engine.dispose()

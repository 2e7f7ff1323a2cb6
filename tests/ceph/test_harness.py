"""The Ceph tier's cluster itself: healthy, cephx enforced, the rbd user confined to its
pool, radosgw serving S3 for its user, memstore sized as asked."""

import json
import subprocess

import pytest
import requests

from tests.ceph.conftest import bindings

rados, rbd = bindings("rados"), bindings("rbd")


def _connect(cluster, user: str | None = None, **kwargs) -> rados.Rados:
    client = rados.Rados(conffile=str(cluster.conf), rados_id=user or cluster.user, **kwargs)
    client.conf_set("rados_mon_op_timeout", "10")
    client.conf_set("rados_osd_op_timeout", "10")
    client.connect(timeout=10)
    return client


def test_health_ok_and_one_of_each_daemon(ceph_cluster):
    status = ceph_cluster.command("status")
    assert status["health"]["status"] == "HEALTH_OK", status["health"]
    assert status["fsid"] == ceph_cluster.fsid
    assert status["monmap"]["num_mons"] == 1
    assert status["osdmap"]["num_up_osds"] == 1
    assert status["mgrmap"]["available"]
    pool = ceph_cluster.command("osd pool get", pool=ceph_cluster.pool, var="size")
    assert pool["size"] == 1


def test_osd_is_memstore_of_the_configured_size(ceph_cluster):
    meta = ceph_cluster.command("osd metadata", id=0)
    assert meta["osd_objectstore"] == "memstore"
    df = ceph_cluster.command("df")
    assert df["stats"]["total_bytes"] == ceph_cluster.memstore_bytes


def test_glance_user_writes_rbd_images_in_its_pool(ceph_cluster):
    client = _connect(ceph_cluster)
    try:
        assert client.get_fsid() == ceph_cluster.fsid
        with client.open_ioctx(ceph_cluster.pool) as ioctx:
            rbd.RBD().create(ioctx, "harness-probe", 1 << 20)
            try:
                with rbd.Image(ioctx, "harness-probe") as image:
                    image.write(b"probe", 0)
                    assert image.read(0, 5) == b"probe"
                assert "harness-probe" in ceph_cluster.rbd_images()
            finally:
                rbd.RBD().remove(ioctx, "harness-probe")
        with client.open_ioctx("default.rgw.meta") as ioctx:  # not its pool
            with pytest.raises(rados.PermissionError):
                ioctx.write_full("intruder", b"x")
    finally:
        client.shutdown()


def test_cephx_refuses_an_unknown_key(ceph_cluster, tmp_path):
    keyring = tmp_path / "bad.keyring"
    subprocess.run(["ceph-authtool", "--create-keyring", str(keyring), "--gen-key",
                    "-n", f"client.{ceph_cluster.user}"], check=True, capture_output=True)
    client = rados.Rados(conffile=str(ceph_cluster.conf), rados_id=ceph_cluster.user,
                         conf={"keyring": str(keyring)})
    with pytest.raises(rados.Error):
        client.connect(timeout=5)


def test_radosgw_serves_s3_for_its_user(ceph_cluster):
    anonymous = requests.get(ceph_cluster.rgw_endpoint + "/", timeout=10)
    assert anonymous.status_code == 200 and b"ListAllMyBucketsResult" in anonymous.content
    out = subprocess.run(["radosgw-admin", "--conf", str(ceph_cluster.conf), "--name",
                          "client.admin", "user", "info", "--uid", ceph_cluster.user],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    keys = json.loads(out)["keys"]
    assert {"access_key": ceph_cluster.s3_access_key,
            "secret_key": ceph_cluster.s3_secret_key}.items() <= keys[0].items()
    zonegroup = json.loads(subprocess.run(
        ["radosgw-admin", "--conf", str(ceph_cluster.conf), "--name", "client.admin",
         "zonegroup", "get"], check=True, capture_output=True, text=True, timeout=60).stdout)
    assert zonegroup["name"] == ceph_cluster.s3_region


def test_stopped_cluster_has_no_daemons_left(tmp_path):
    """A second, rgw-less cluster: up, then down by PID, then nothing of it runs."""
    from tests.ceph import harness

    cluster = harness.Ceph(tmp_path / "second", memstore_bytes=64 << 20, rgw=False).start()
    pids = dict(cluster.pids)
    assert set(pids) == {"mon.a", "mgr.x", "osd.0"}
    assert harness.Ceph.load(cluster.workdir).pids == pids
    harness.Ceph.load(cluster.workdir).stop()
    assert not any(cluster._alive(name) for name in pids)

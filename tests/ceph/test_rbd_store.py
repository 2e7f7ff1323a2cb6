"""The rbd store on a real Ceph: the shared data suite with rbd as default store
(multi-store, with a file store ``spare``), the single-store configuration, the
``rbd://<fsid>/<pool>/<image>/snap`` locations Nova and Cinder clone from, and
``rbd_thin_provisioning``."""

import hashlib
import json
import os

import pytest
import requests

from tests import helpers
from tests.ceph.conftest import bindings
from tests.stores import suite
from tests.stores.suite import StoreDataSuite, multi_store_sections

rbd = bindings("rbd")

STORE = "ceph"


def rbd_options(cluster, **extra) -> dict:
    return {"rbd_store_pool": cluster.pool, "rbd_store_user": cluster.user,
            "rbd_store_ceph_conf": str(cluster.conf), "rbd_store_chunk_size": 1,
            "rados_connect_timeout": 30, **extra}


@pytest.fixture(scope="module")
def store_server(start_server, ceph_cluster, tmp_path_factory):
    sections = multi_store_sections(STORE, "rbd", rbd_options(ceph_cluster),
                                    tmp_path_factory.mktemp("rbd-suite"),
                                    extra={"DEFAULT": {"show_image_direct_url": True}})
    return start_server(sections, name="rbd-suite")


@pytest.fixture(scope="module")
def store_objects(ceph_cluster):
    return ceph_cluster.rbd_images


@pytest.fixture(scope="module")
def single_store_server(start_server, ceph_cluster):
    """Single-store configuration ([glance_store] stores/default_store), thin."""
    options = rbd_options(ceph_cluster, rbd_thin_provisioning=True)
    return start_server({"DEFAULT": {"show_image_direct_url": True},
                         "glance_store": {"stores": "rbd", "default_store": "rbd",
                                          **options}}, name="rbd-single")


class TestRbdData(StoreDataSuite):
    """Every suite test with rbd as the default store."""


def _image(cluster, name: str, snapshot: str | None = None):
    client = cluster._admin if cluster._admin_connected() else None
    assert client is not None
    ioctx = client.open_ioctx(cluster.pool)
    return ioctx, rbd.Image(ioctx, name, snapshot=snapshot, read_only=True)


def _used_bytes(cluster, image_id: str) -> int:
    """``rbd du``'s used size of the image, its ``snap`` snapshot included (what the
    data really occupies)."""
    report = json.loads(cluster.rbd("du", "--format", "json", image_id))
    return sum(entry["used_size"] for entry in report["images"]
               if entry["name"] == image_id)


def test_store_objects_sees_a_stray_image(ceph_cluster, store_objects):
    """The suite's 'nothing left behind' checks are only as good as store_objects."""
    with ceph_cluster._admin.open_ioctx(ceph_cluster.pool) as ioctx:
        rbd.RBD().create(ioctx, "stray-image", 1 << 20)
        try:
            assert "stray-image" in store_objects()
        finally:
            rbd.RBD().remove(ioctx, "stray-image")
    assert "stray-image" not in store_objects()


def test_direct_url_is_what_nova_and_cinder_clone(store_server, ceph_cluster):
    image_id = suite.active_image(store_server)
    image = suite.show(store_server, image_id)
    expected = f"rbd://{ceph_cluster.fsid}/{ceph_cluster.pool}/{image_id}/snap"
    assert image["direct_url"] == expected
    locations = requests.get(f"{store_server.url}/v2/images/{image_id}/locations",
                             headers=helpers.ADMIN, timeout=30)
    if locations.status_code == 200:
        assert [loc["url"] for loc in locations.json()] == [expected]
    ioctx, head = _image(ceph_cluster, image_id)
    try:
        assert [snap["name"] for snap in head.list_snaps()] == ["snap"]
        assert head.is_protected_snap("snap")
        assert head.features() & rbd.RBD_FEATURE_LAYERING
        # What Cinder's and Nova's rbd drivers do with a Glance image: a COW clone.
        rbd.RBD().clone(ioctx, image_id, "snap", ioctx, f"volume-{image_id}")
        with rbd.Image(ioctx, f"volume-{image_id}") as volume:
            assert volume.parent_info()[1:] == (image_id, "snap")
            assert volume.read(0, len(suite.DATA)) == suite.DATA
        rbd.RBD().remove(ioctx, f"volume-{image_id}")
    finally:
        head.close()
        ioctx.close()


def test_delete_of_an_image_with_clones_is_409_and_keeps_it(store_server, ceph_cluster,
                                                            store_objects):
    """As Glance: a Cinder volume / Nova disk cloned from the image blocks its delete."""
    image_id = suite.active_image(store_server)
    ioctx, head = _image(ceph_cluster, image_id)
    head.close()
    volume = f"volume-{image_id}"
    rbd.RBD().clone(ioctx, image_id, "snap", ioctx, volume)
    try:
        response = requests.delete(f"{store_server.url}/v2/images/{image_id}",
                                   headers=helpers.MEMBER, timeout=30)
        assert response.status_code == 409, response.text
        assert "in use" in response.text and volume in response.text
        assert suite.show(store_server, image_id)["status"] == "active"
        assert image_id in store_objects()
    finally:
        rbd.RBD().remove(ioctx, volume)
        ioctx.close()
    response = requests.delete(f"{store_server.url}/v2/images/{image_id}",
                               headers=helpers.MEMBER, timeout=30)
    assert response.status_code == 204
    assert helpers.wait_until(lambda: image_id not in store_objects(), timeout=30)


def test_single_store_upload_download_range(single_store_server, ceph_cluster):
    image_id = suite.active_image(single_store_server)
    image = suite.show(single_store_server, image_id)
    assert image["os_hash_value"] == hashlib.sha512(suite.DATA).hexdigest()
    assert image["direct_url"] == (f"rbd://{ceph_cluster.fsid}/{ceph_cluster.pool}/"
                                   f"{image_id}/snap")
    url = f"{single_store_server.url}/v2/images/{image_id}/file"
    assert requests.get(url, headers=helpers.MEMBER, timeout=30).content == suite.DATA
    part = requests.get(url, headers={**helpers.MEMBER, "Range": "bytes=1048570-2097160"},
                        timeout=30)
    assert part.status_code == 206 and part.content == suite.DATA[1048570:2097161]
    assert requests.delete(f"{single_store_server.url}/v2/images/{image_id}",
                           headers=helpers.MEMBER, timeout=30).status_code == 204
    assert helpers.wait_until(lambda: image_id not in ceph_cluster.rbd_images(), 30)


SPARSE = bytes(6 << 20) + os.urandom(1 << 20) + bytes(2 << 20)  # 9 MiB, 1 MiB of data


@pytest.mark.parametrize("thin", [True, False], ids=["thin", "thick"])
def test_thin_provisioning_does_not_write_zero_runs(thin, store_server,
                                                    single_store_server, ceph_cluster):
    server = single_store_server if thin else store_server
    image_id = suite.active_image(server, SPARSE)
    image = suite.show(server, image_id)
    assert image["size"] == len(SPARSE)
    assert image["checksum"] == hashlib.md5(SPARSE).hexdigest()
    used = _used_bytes(ceph_cluster, image_id)
    assert used == (1 << 20 if thin else len(SPARSE)), used
    body = requests.get(f"{server.url}/v2/images/{image_id}/file",
                        headers=helpers.MEMBER, timeout=60).content
    assert body == SPARSE  # the holes read back as zeros


def test_range_deep_into_a_large_image(store_server):
    """A range read starts at its offset: the RBD image is read there, not from 0."""
    data = os.urandom(24 << 20)
    image_id = suite.active_image(store_server, data)
    response = requests.get(f"{store_server.url}/v2/images/{image_id}/file",
                            headers={**helpers.MEMBER, "Range": "bytes=20971517-20971530"},
                            timeout=30)
    assert response.status_code == 206
    assert response.content == data[20971517:20971531]
    assert response.headers["Content-Range"] == f"bytes 20971517-20971530/{len(data)}"


def test_upload_to_a_missing_pool_fails_cleanly(start_server, ceph_cluster):
    server = start_server({"glance_store": {
        "stores": "rbd", "default_store": "rbd",
        **rbd_options(ceph_cluster, rbd_store_pool="no-such-pool")}}, name="rbd-nopool")
    image_id = suite.create(server)
    response = suite.upload(server, image_id, b"x" * 1024)
    assert 400 <= response.status_code < 600 and response.status_code != 500, \
        (response.status_code, response.text)
    assert "Traceback" not in response.text and "html" not in response.text.lower()
    assert suite.show(server, image_id)["status"] == "queued"

"""The store data suite with an s3 store (Ceph radosgw) as the default store."""

import pytest
import requests

from tests import helpers
from tests.s3.conftest import bucket_objects, new_bucket, s3_client, s3_options
from tests.stores import suite
from tests.stores.suite import StoreDataSuite, multi_store_sections

STORE = "objects"


@pytest.fixture(scope="module")
def bucket() -> str:
    return new_bucket()


@pytest.fixture(scope="module")
def store_server(rgw, bucket, start_server, tmp_path_factory):
    sections = multi_store_sections(STORE, "s3", s3_options(rgw, bucket),
                                    tmp_path_factory.mktemp("s3-suite"),
                                    extra={"DEFAULT": {"show_image_direct_url": True}})
    return start_server(sections, name="s3-suite")


@pytest.fixture(scope="module")
def store_objects(rgw, bucket):
    client = s3_client(rgw)
    return lambda: bucket_objects(client, bucket)


class TestS3Data(StoreDataSuite):
    """Every suite test with s3 as the default store."""


def test_suite_sees_objects_the_store_holds(store_server, store_objects, rgw, bucket):
    """The suite's 'nothing left behind' checks see objects and unfinished multipart
    uploads in the bucket."""
    client = s3_client(rgw)
    suite.active_image(store_server, b"x")  # the bucket exists from here on
    client.put_object(Bucket=bucket, Key="stray-object", Body=b"x")
    upload = client.create_multipart_upload(Bucket=bucket, Key="stray-upload")
    try:
        assert {"stray-object", "multipart:stray-upload"} <= store_objects()
    finally:
        client.delete_object(Bucket=bucket, Key="stray-object")
        client.abort_multipart_upload(Bucket=bucket, Key="stray-upload",
                                      UploadId=upload["UploadId"])
    assert not {"stray-object", "multipart:stray-upload"} & store_objects()


def test_direct_url_names_bucket_and_key(store_server, rgw, bucket):
    """As glance_store writes it: s3://<host:port>/<bucket>/<image id>."""
    image_id = suite.active_image(store_server)
    image = suite.show(store_server, image_id)
    host = rgw.rgw_endpoint.removeprefix("http://")
    assert image["direct_url"] == f"s3://{host}/{bucket}/{image_id}"
    listed = requests.get(f"{store_server.url}/v2/images/{image_id}/locations",
                          headers=helpers.ADMIN, timeout=30)
    assert listed.status_code == 200, listed.text
    assert [loc["url"] for loc in listed.json()] == [image["direct_url"]]

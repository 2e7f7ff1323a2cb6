"""Fixtures of the S3 tier: glance-api with an s3 store on Ceph's radosgw.

The radosgw is the Ceph tier's (tests/ceph/harness.py, ``ceph_cluster``: one cluster
per run, shared with tests/ceph). Set GLANCE_CEPH_DIR to a directory where
``python -m tests.ceph.harness up DIR`` started a cluster to reuse it (fast reruns).
Each server gets its own bucket, so tests and xdist workers never see each other's
objects.
"""

import os
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from tests.ceph import harness
from tests.ceph.conftest import ceph_cluster  # noqa: F401 - the run's one Ceph cluster


@pytest.fixture(scope="session")
def rgw(request) -> harness.Ceph:
    """The Ceph cluster whose radosgw the tier uses."""
    if os.environ.get("GLANCE_CEPH_DIR"):
        return harness.Ceph.load(Path(os.environ["GLANCE_CEPH_DIR"]))
    return request.getfixturevalue("ceph_cluster")


def s3_client(cluster: harness.Ceph, secret: str | None = None):
    """boto3 straight to the radosgw, as the S3 user (for checks, not for glance)."""
    return boto3.client(
        "s3", endpoint_url=cluster.rgw_endpoint, region_name=cluster.s3_region,
        aws_access_key_id=cluster.s3_access_key,
        aws_secret_access_key=secret or cluster.s3_secret_key,
        config=Config(s3={"addressing_style": "path"}, connect_timeout=10,
                      read_timeout=60, retries={"max_attempts": 2},
                      request_checksum_calculation="when_required",
                      response_checksum_validation="when_required"))


def new_bucket() -> str:
    return f"glance-{uuid.uuid4().hex[:16]}"


def s3_options(cluster: harness.Ceph, bucket: str, **extra) -> dict[str, object]:
    """A Glance-style s3 store section for the cluster's radosgw; ``extra`` on top.

    Small parts (5 MiB, S3's least) and objects of 8 MiB or more in parts, so a
    test of a few tens of MiB crosses several parts on 4 threads."""
    options: dict[str, object] = {
        "s3_store_host": cluster.rgw_endpoint,
        "s3_store_access_key": cluster.s3_access_key,
        "s3_store_secret_key": cluster.s3_secret_key,
        "s3_store_bucket": bucket,
        "s3_store_create_bucket_on_put": True,
        "s3_store_bucket_url_format": "path",
        "s3_store_region_name": cluster.s3_region,
        "s3_store_large_object_size": 8,
        "s3_store_large_object_chunk_size": 5,
        "s3_store_thread_pools": 4,
    }
    options.update(extra)
    return options


def bucket_objects(client, bucket: str) -> set[str]:
    """Object keys in ``bucket``, and ``multipart:<key>`` for each unfinished multipart
    upload (both are 'something left behind'); empty when the bucket does not exist."""
    try:
        keys = {item["Key"] for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket) for item in page.get("Contents", [])}
        uploads = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    except client.exceptions.NoSuchBucket:
        return set()
    return keys | {f"multipart:{upload['Key']}" for upload in uploads}

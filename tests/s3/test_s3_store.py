"""What the s3 store does beyond the data suite, against Ceph's radosgw.

Parallel multipart uploads (parts seen on the object and on the connections the
worker holds to radosgw), bounded memory, aborted multipart uploads when the client
goes away or the worker is killed, ranges across parts, the bucket made on the first
upload, a single-store configuration, and the start-up errors of a bad store section.
"""

import hashlib
import os
import socket
import time
from urllib.parse import urlparse

import psutil
import pytest
import requests

from tests import helpers
from tests.functional.test_startup_errors import assert_start_up_error, run_glance_api
from tests.s3.conftest import bucket_objects, new_bucket, s3_client, s3_options
from tests.stores import suite
from tests.stores.suite import multi_store_sections

STORE = "objects"
MiB = 1024 * 1024
PART = 5 * MiB
BLOCK = os.urandom(MiB)


def data_of(size: int) -> bytes:
    return (BLOCK * (size // MiB + 1))[:size]


def chunks_of(data: bytes, size: int = 256 * 1024):
    for start in range(0, len(data), size):
        yield data[start:start + size]


def worker_of(server: helpers.Server) -> psutil.Process:
    children = psutil.Process(server.pid).children()
    assert len(children) == 1, children
    return children[0]


@pytest.fixture(scope="module")
def bucket() -> str:
    return new_bucket()


@pytest.fixture(scope="module")
def client(rgw):
    return s3_client(rgw)


@pytest.fixture(scope="module")
def server(rgw, bucket, start_server, tmp_path_factory):
    """One worker, so its memory and connections can be watched."""
    sections = multi_store_sections(STORE, "s3", s3_options(rgw, bucket),
                                    tmp_path_factory.mktemp("s3-store"),
                                    extra={"DEFAULT": {"workers": 1}})
    return start_server(sections, name="s3-store")


def etag_parts(client, bucket: str, key: str) -> int:
    """How many parts S3 made the object of (its ETag ends in -N), 0 for one PUT."""
    etag = client.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
    return int(etag.rpartition("-")[2]) if "-" in etag else 0


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_large_upload_is_multipart_and_reads_back(server, client, bucket, framing):
    data = data_of(4 * PART + 12345)
    image_id = suite.create(server)
    body = data if framing == "length" else chunks_of(data)
    response = suite.upload(server, image_id, body)
    assert response.status_code == 204, response.text
    image = suite.show(server, image_id)
    assert image["size"] == len(data)
    assert image["checksum"] == hashlib.md5(data).hexdigest()
    assert image["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert etag_parts(client, bucket, image_id) == 5
    got = requests.get(f"{server.url}/v2/images/{image_id}/file", headers=helpers.MEMBER,
                       timeout=60)
    assert got.status_code == 200 and got.content == data
    # A range across the first part boundary, and ranges in three parts at once.
    across = requests.get(f"{server.url}/v2/images/{image_id}/file", timeout=60,
                          headers={**helpers.MEMBER, "Range": f"bytes={PART - 10}-{PART + 9}"})
    assert across.status_code == 206 and across.content == data[PART - 10:PART + 10]
    several = requests.get(f"{server.url}/v2/images/{image_id}/file", timeout=60, headers={
        **helpers.MEMBER, "Range": f"bytes=5-9,{2 * PART}-{2 * PART + 4},-5"})
    assert several.status_code == 206
    for piece in (data[5:10], data[2 * PART:2 * PART + 5], data[-5:]):
        assert piece in several.content


def test_upload_under_the_large_object_size_is_one_put(server, client, bucket):
    data = data_of(7 * MiB)  # s3_store_large_object_size = 8 (MiB)
    image_id = suite.create(server)
    assert suite.upload(server, image_id, data).status_code == 204
    assert etag_parts(client, bucket, image_id) == 0
    assert suite.show(server, image_id)["size"] == len(data)


def test_parts_go_up_in_parallel_in_bounded_memory(server, client, bucket):
    """A 96 MiB upload without a size: the worker's peak RSS grows by far less than
    the image (at most 4 parts in flight and one filling), and it holds several
    connections to radosgw afterwards (one per part thread that ran at once)."""
    worker = worker_of(server)
    rgw_port = urlparse(client.meta.endpoint_url).port
    suite.active_image(server, data_of(MiB))  # warm up: imports, client, pools
    with open(f"/proc/{worker.pid}/clear_refs", "w") as handle:
        handle.write("5")  # reset the peak RSS (VmHWM) to the current RSS
    baseline = worker.memory_info().rss
    size = 96 * MiB
    image_id = suite.create(server)
    response = suite.upload(server, image_id, chunks_of(data_of(size), MiB))
    assert response.status_code == 204, response.text
    with open(f"/proc/{worker.pid}/status") as handle:
        peak = next(int(line.split()[1]) * 1024 for line in handle
                    if line.startswith("VmHWM:"))
    assert peak - baseline < 56 * MiB, (peak - baseline) / MiB
    assert etag_parts(client, bucket, image_id) == 20
    to_rgw = [c for c in worker.net_connections("tcp")
              if c.raddr and c.raddr.port == rgw_port and c.status == "ESTABLISHED"]
    assert 2 <= len(to_rgw) <= 4 + 2, to_rgw


def _start_upload(server: helpers.Server, image_id: str, size: int) -> socket.socket:
    """A chunked PUT of ``size`` bytes of a larger image, left open."""
    identity = "".join(f"{k}: {v}\r\n" for k, v in helpers.MEMBER.items())
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    sock.sendall((f"PUT /v2/images/{image_id}/file HTTP/1.1\r\nHost: x\r\n{identity}"
                  "Content-Type: application/octet-stream\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n").encode())
    for chunk in chunks_of(data_of(size), MiB):
        sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    return sock


def _parts_uploaded(client, bucket: str, key: str) -> int:
    for upload in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        if upload["Key"] == key:
            return len(client.list_parts(Bucket=bucket, Key=key,
                                         UploadId=upload["UploadId"]).get("Parts", []))
    return 0


def test_client_gone_mid_multipart_aborts_it(server, client, bucket):
    image_id = suite.create(server)
    sock = _start_upload(server, image_id, 3 * PART + MiB)
    try:
        assert helpers.wait_until(lambda: _parts_uploaded(client, bucket, image_id) >= 2,
                                  timeout=60), "no multipart upload in progress"
    finally:
        sock.close()
    image = suite.wait_for(server, image_id, lambda i: i["status"] == "queued")
    assert image["status"] == "queued"
    assert helpers.wait_until(lambda: not suite.held(
        lambda: bucket_objects(client, bucket), image_id), timeout=30), \
        suite.held(lambda: bucket_objects(client, bucket), image_id)


def test_killed_worker_leaves_no_multipart_upload(server, client, bucket):
    """kill -9 of the worker mid-upload: the master's upload recovery puts the image
    back to queued and aborts the multipart upload the dead worker left."""
    image_id = suite.create(server)
    worker = worker_of(server)
    sock = _start_upload(server, image_id, 3 * PART + MiB)
    try:
        assert helpers.wait_until(lambda: _parts_uploaded(client, bucket, image_id) >= 2,
                                  timeout=60), "no multipart upload in progress"
        worker.kill()
        worker.wait(timeout=30)
    finally:
        sock.close()
    assert helpers.wait_until(lambda: len(psutil.Process(server.pid).children()) == 1,
                              timeout=60), "no new worker"
    image = suite.wait_for(server, image_id, lambda i: i["status"] == "queued")
    assert image["status"] == "queued"
    assert helpers.wait_until(lambda: not suite.held(
        lambda: bucket_objects(client, bucket), image_id), timeout=30), \
        suite.held(lambda: bucket_objects(client, bucket), image_id)
    assert suite.upload(server, image_id).status_code == 204  # and it can be retried


def test_bucket_is_created_on_the_first_upload(rgw, start_server, tmp_path_factory):
    client, bucket = s3_client(rgw), new_bucket()
    sections = multi_store_sections(STORE, "s3", s3_options(rgw, bucket),
                                    tmp_path_factory.mktemp("s3-new-bucket"))
    server = start_server(sections, name="s3-new-bucket")
    assert bucket not in {b["Name"] for b in client.list_buckets()["Buckets"]}
    image_id = suite.active_image(server)
    assert bucket_objects(client, bucket) == {image_id}


def test_missing_bucket_without_create_on_put(rgw, start_server, tmp_path_factory):
    """Start-up warns; the upload is a clear 503 and the image stays uploadable."""
    client, bucket = s3_client(rgw), new_bucket()
    options = s3_options(rgw, bucket, s3_store_create_bucket_on_put=False)
    sections = multi_store_sections(STORE, "s3", options,
                                    tmp_path_factory.mktemp("s3-no-bucket"))
    server = start_server(sections, name="s3-no-bucket")
    assert "s3_store_create_bucket_on_put is false" in server.log_path.read_text()
    image_id = suite.create(server)
    response = suite.upload(server, image_id)
    assert response.status_code == 503, response.text
    assert f"the bucket {bucket} does not exist" in response.text
    assert "Traceback" not in response.text
    assert suite.show(server, image_id)["status"] == "queued"
    assert bucket not in {b["Name"] for b in client.list_buckets()["Buckets"]}


def test_single_store_configuration(rgw, start_server, tmp_path_factory):
    """``[glance_store] stores = s3`` with the options in [glance_store], as Glance's
    single-store deployments write it."""
    client, bucket = s3_client(rgw), new_bucket()
    sections = {"glance_store": {"stores": "s3,file", "default_store": "s3",
                                 **s3_options(rgw, bucket)}}
    server = start_server(sections, name="s3-single")
    data = data_of(2 * PART + 7)
    image_id = suite.create(server)
    assert suite.upload(server, image_id, chunks_of(data)).status_code == 204
    assert etag_parts(client, bucket, image_id) == 3
    ranged = requests.get(f"{server.url}/v2/images/{image_id}/file", timeout=60,
                          headers={**helpers.MEMBER, "Range": f"bytes={PART}-{PART + 99}"})
    assert ranged.status_code == 206 and ranged.content == data[PART:PART + 100]
    gone = requests.delete(f"{server.url}/v2/images/{image_id}", headers=helpers.MEMBER,
                           timeout=60)
    assert gone.status_code == 204
    assert helpers.wait_until(lambda: not bucket_objects(client, bucket), timeout=30)


# -- start-up errors ---------------------------------------------------------------------

def _run_with(rgw, tmp_path, **options):
    sections = multi_store_sections(STORE, "s3", s3_options(rgw, new_bucket(), **options),
                                    tmp_path)
    return run_glance_api(helpers.write_config(tmp_path, sections))


def test_refused_credentials_stop_the_start(rgw, tmp_path):
    started = time.monotonic()
    result = _run_with(rgw, tmp_path, s3_store_secret_key="not-the-secret")
    line = assert_start_up_error(result, f"[{STORE}]", "s3_store_secret_key",
                                 rgw.rgw_endpoint)
    assert "refuses them" in line
    assert time.monotonic() - started < 60


def test_unknown_access_key_stops_the_start(rgw, tmp_path):
    result = _run_with(rgw, tmp_path, s3_store_access_key="NOSUCHKEY0000000000")
    assert_start_up_error(result, f"[{STORE}]", "s3_store_access_key", "refuses them")


@pytest.mark.parametrize("option,value,words", [
    ("s3_store_large_object_chunk_size", 4, "s3_store_large_object_chunk_size must be"),
    ("s3_store_thread_pools", 0, "s3_store_thread_pools"),
    ("s3_store_bucket", "", "s3_store_bucket"),
])
def test_bad_store_options_stop_the_start(rgw, tmp_path, option, value, words):
    result = _run_with(rgw, tmp_path, **{option: value})
    assert_start_up_error(result, f"[{STORE}]", words)


def test_unreachable_endpoint_is_only_a_warning(rgw, start_server, tmp_path_factory):
    """S3 down at start-up is not a configuration error: glance-api serves, uploads
    to the store fail with a clear 503 until it is back."""
    sections = multi_store_sections(
        STORE, "s3", s3_options(rgw, new_bucket(),
                                s3_store_host=f"http://127.0.0.1:{helpers.free_port()}"),
        tmp_path_factory.mktemp("s3-down"))
    server = start_server(sections, name="s3-down")
    assert "cannot be reached now" in server.log_path.read_text()
    image_id = suite.create(server)
    response = suite.upload(server, image_id, b"abc")
    assert response.status_code == 503, response.text
    assert "S3 cannot be reached" in response.text
    assert suite.show(server, image_id)["status"] == "queued"

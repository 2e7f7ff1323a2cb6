"""The data tests every image store passes, over HTTP against a real glance-api.

A store's test tier subclasses :class:`StoreDataSuite` and provides two
fixtures (in the test module or its conftest):

``store_server``
    a running :class:`tests.helpers.Server` whose default store is the store
    under test; :func:`multi_store_sections` writes such a configuration, with a
    second, file store named ``spare`` for copy-image and store deletion.
``store_objects``
    a callable returning the names of the objects the store under test holds
    right now; an object belongs to an image when its name contains the image
    id (RBD images, S3 keys, Swift objects and segments, files all do).

The suite itself runs against the file store in tests/stores/test_file_store.py.
"""

from __future__ import annotations

import configparser
import hashlib
import re
import socket
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from tests import helpers

SPARE = "spare"
OCTET = {"Content-Type": "application/octet-stream"}
# Large enough to cross chunk and segment sizes that tiers configure small (1 MiB).
DATA = bytes(range(256)) * 4096 * 3 + b"tail"  # 3 MiB + 4 bytes
TIMEOUT = 60


def multi_store_sections(store_id: str, store_type: str, store_options: dict,
                         work_dir: Path, extra: dict | None = None) -> dict:
    """Config sections for :func:`tests.helpers.write_config`: the store under test as
    default backend plus a file store ``spare``, and the import methods the suite uses."""
    spare_dir = work_dir / "spare-store"
    spare_dir.mkdir(parents=True, exist_ok=True)
    sections: dict[str, dict] = {
        "DEFAULT": {"enabled_backends": f"{store_id}:{store_type}, {SPARE}:file",
                    "enabled_import_methods": "glance-direct,copy-image"},
        "glance_store": {"default_backend": store_id},
        store_id: dict(store_options),
        SPARE: {"filesystem_store_datadir": str(spare_dir)},
    }
    for section, values in (extra or {}).items():
        sections.setdefault(section, {}).update(values)
    return sections


def default_store(server: helpers.Server) -> str:
    """``[glance_store] default_backend`` of the server's configuration."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(server.config_path)
    return parser["glance_store"]["default_backend"]


def _images(server: helpers.Server) -> str:
    return f"{server.url}/v2/images"


def create(server: helpers.Server, headers=helpers.MEMBER) -> str:
    response = requests.post(_images(server), headers=headers, timeout=TIMEOUT, json={
        "name": "suite", "disk_format": "raw", "container_format": "bare"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def show(server: helpers.Server, image_id: str, headers=helpers.ADMIN) -> dict:
    response = requests.get(f"{_images(server)}/{image_id}", headers=headers,
                            timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


def upload(server: helpers.Server, image_id: str, data=DATA) -> requests.Response:
    return requests.put(f"{_images(server)}/{image_id}/file", data=data,
                        headers={**helpers.MEMBER, **OCTET}, timeout=TIMEOUT)


def active_image(server: helpers.Server, data: bytes = DATA) -> str:
    image_id = create(server)
    response = upload(server, image_id, data)
    assert response.status_code == 204, response.text
    return image_id


def wait_for(server: helpers.Server, image_id: str,
             done: Callable[[dict], bool], timeout: float = TIMEOUT) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        image = show(server, image_id)
        if done(image) or time.monotonic() > deadline:
            return image
        time.sleep(0.1)


def held(objects: Callable[[], set[str]], image_id: str) -> set[str]:
    """The objects of ``image_id`` in the store."""
    return {name for name in objects() if image_id in name}


def _chunks(data: bytes, size: int = 256 * 1024):
    for start in range(0, len(data), size):
        yield data[start:start + size]


class StoreDataSuite:
    """Upload, download, ranges, hashes, delete, copy, store deletion, locations,
    import and interrupted uploads against the store under test."""

    @pytest.fixture(scope="class")
    def shared_image(self, store_server) -> str:
        """One active image with :data:`DATA`, for the read-only tests."""
        return active_image(store_server)

    def test_upload_with_length_then_download(self, store_server, store_objects):
        image_id = active_image(store_server)
        image = show(store_server, image_id)
        assert image["status"] == "active" and image["size"] == len(DATA)
        assert image["stores"] == default_store(store_server)
        assert image["checksum"] == hashlib.md5(DATA).hexdigest()
        assert image["os_hash_algo"] == "sha512"
        assert image["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
        assert held(store_objects, image_id), "no object in the store"
        response = requests.get(f"{_images(store_server)}/{image_id}/file",
                                headers=helpers.MEMBER, timeout=TIMEOUT)
        assert response.status_code == 200
        assert response.content == DATA
        assert response.headers["Content-MD5"] == image["checksum"]

    def test_upload_without_length(self, store_server):
        image_id = create(store_server)
        response = upload(store_server, image_id, _chunks(DATA))  # chunked encoding
        assert response.status_code == 204, response.text
        image = show(store_server, image_id)
        assert image["size"] == len(DATA)
        assert image["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
        body = requests.get(f"{_images(store_server)}/{image_id}/file",
                            headers=helpers.MEMBER, timeout=TIMEOUT).content
        assert body == DATA

    def test_empty_image(self, store_server):
        image_id = active_image(store_server, b"")
        image = show(store_server, image_id)
        assert image["status"] == "active" and image["size"] == 0
        response = requests.get(f"{_images(store_server)}/{image_id}/file",
                                headers=helpers.MEMBER, timeout=TIMEOUT)
        assert response.status_code in (200, 204) and response.content == b""

    @pytest.mark.parametrize("header,start,stop", [
        ("bytes=0-9", 0, 10), ("bytes=1048570-1048590", 1048570, 1048591),
        ("bytes=-7", len(DATA) - 7, len(DATA)), ("bytes=3145000-", 3145000, len(DATA))])
    def test_single_range(self, store_server, shared_image, header, start, stop):
        response = requests.get(f"{_images(store_server)}/{shared_image}/file",
                                headers={**helpers.MEMBER, "Range": header},
                                timeout=TIMEOUT)
        assert response.status_code == 206, response.text
        assert response.content == DATA[start:stop]
        assert response.headers["Content-Range"] == f"bytes {start}-{stop - 1}/{len(DATA)}"

    def test_multiple_ranges(self, store_server, shared_image):
        response = requests.get(f"{_images(store_server)}/{shared_image}/file",
                                headers={**helpers.MEMBER,
                                         "Range": "bytes=0-9,2097152-2097161,-3"},
                                timeout=TIMEOUT)
        assert response.status_code == 206
        content_type = response.headers["Content-Type"]
        assert content_type.startswith("multipart/byteranges; boundary=")
        parts = re.findall(rb"Content-Range: bytes (\d+)-(\d+)/\d+\r\n\r\n", response.content)
        assert [(int(a), int(b)) for a, b in parts] == [
            (0, 9), (2097152, 2097161), (len(DATA) - 3, len(DATA) - 1)]
        for start, stop in ((0, 10), (2097152, 2097162), (len(DATA) - 3, len(DATA))):
            assert DATA[start:stop] in response.content

    def test_unsatisfiable_range(self, store_server, shared_image):
        response = requests.get(f"{_images(store_server)}/{shared_image}/file",
                                headers={**helpers.MEMBER,
                                         "Range": f"bytes={len(DATA) + 10}-"},
                                timeout=TIMEOUT)
        assert response.status_code == 416
        assert "html" not in response.headers.get("Content-Type", "")

    def test_delete_removes_the_object(self, store_server, store_objects):
        image_id = active_image(store_server)
        assert held(store_objects, image_id)
        response = requests.delete(f"{_images(store_server)}/{image_id}",
                                   headers=helpers.MEMBER, timeout=TIMEOUT)
        assert response.status_code == 204, response.text
        assert helpers.wait_until(lambda: not held(store_objects, image_id), timeout=30), \
            held(store_objects, image_id)

    def test_copy_to_spare_then_delete_from_the_store(self, store_server, store_objects):
        image_id = active_image(store_server)
        copy = requests.post(f"{_images(store_server)}/{image_id}/import",
                             headers=helpers.ADMIN, timeout=TIMEOUT,
                             json={"method": {"name": "copy-image"}, "stores": [SPARE]})
        assert copy.status_code == 202, copy.text
        image = wait_for(store_server, image_id,
                         lambda i: SPARE in i.get("stores", "").split(","))
        assert sorted(image["stores"].split(",")) == sorted(
            [default_store(store_server), SPARE])
        gone = requests.delete(f"{store_server.url}/v2/stores/"
                               f"{default_store(store_server)}/{image_id}",
                               headers=helpers.ADMIN, timeout=TIMEOUT)
        assert gone.status_code == 204, gone.text
        assert show(store_server, image_id)["stores"] == SPARE
        assert helpers.wait_until(lambda: not held(store_objects, image_id), timeout=30)
        body = requests.get(f"{_images(store_server)}/{image_id}/file",
                            headers=helpers.MEMBER, timeout=TIMEOUT).content
        assert body == DATA

    def test_copy_from_spare_into_the_store(self, store_server, store_objects):
        image_id = create(store_server)
        response = requests.put(f"{_images(store_server)}/{image_id}/file", data=DATA,
                                headers={**helpers.MEMBER, **OCTET,
                                         "X-Image-Meta-Store": SPARE}, timeout=TIMEOUT)
        assert response.status_code == 204, response.text
        assert show(store_server, image_id)["stores"] == SPARE
        assert not held(store_objects, image_id)
        copy = requests.post(f"{_images(store_server)}/{image_id}/import",
                             headers=helpers.ADMIN, timeout=TIMEOUT,
                             json={"method": {"name": "copy-image"},
                                   "stores": [default_store(store_server)]})
        assert copy.status_code == 202, copy.text
        wait_for(store_server, image_id, lambda i: "," in i.get("stores", ""))
        assert held(store_objects, image_id)

    def test_locations_name_the_store(self, store_server, shared_image):
        image = show(store_server, shared_image)
        locations = image.get("locations")
        if locations is None:  # show_multiple_locations off: the v2.17 API lists them
            response = requests.get(f"{_images(store_server)}/{shared_image}/locations",
                                    headers=helpers.ADMIN, timeout=TIMEOUT)
            assert response.status_code == 200, response.text
            locations = response.json()
        assert [loc["metadata"].get("store") for loc in locations] == [
            default_store(store_server)]
        assert all(loc["url"] for loc in locations)

    def test_glance_direct_import(self, store_server, store_objects):
        image_id = create(store_server)
        staged = requests.put(f"{_images(store_server)}/{image_id}/stage",
                              data=_chunks(DATA), headers={**helpers.MEMBER, **OCTET},
                              timeout=TIMEOUT)
        assert staged.status_code == 204, staged.text
        started = requests.post(f"{_images(store_server)}/{image_id}/import",
                                headers=helpers.MEMBER, timeout=TIMEOUT,
                                json={"method": {"name": "glance-direct"}})
        assert started.status_code == 202, started.text
        image = wait_for(store_server, image_id, lambda i: i["status"] == "active")
        assert image["status"] == "active", image
        assert image["stores"] == default_store(store_server)
        assert image["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
        assert held(store_objects, image_id)

    @pytest.mark.parametrize("framing", ["length", "chunked"])
    def test_killed_upload_leaves_nothing(self, store_server, store_objects, framing):
        image_id = create(store_server)
        port = urlparse(store_server.url).port
        identity = "".join(f"{k}: {v}\r\n" for k, v in helpers.MEMBER.items())
        framing_header = ("Content-Length: 50000000" if framing == "length"
                          else "Transfer-Encoding: chunked")
        head = (f"PUT /v2/images/{image_id}/file HTTP/1.1\r\nHost: x\r\n{identity}"
                f"Content-Type: application/octet-stream\r\n{framing_header}\r\n\r\n")
        piece = DATA[:2 * 1024 * 1024]
        body = piece if framing == "length" else b"%x\r\n%s\r\n" % (len(piece), piece)
        sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        try:
            sock.sendall(head.encode() + body)
            saving = wait_for(store_server, image_id, lambda i: i["status"] == "saving")
            assert saving["status"] == "saving"
        finally:
            sock.close()
        image = wait_for(store_server, image_id, lambda i: i["status"] == "queued")
        assert image["status"] == "queued" and image["size"] is None
        assert helpers.wait_until(lambda: not held(store_objects, image_id), timeout=30), \
            held(store_objects, image_id)
        assert upload(store_server, image_id).status_code == 204  # and it can be retried



"""Format inspection on upload, stage and import: real disk images are accepted with
their virtual size; malicious or mislabelled ones are refused with 400, the image
goes back to ``queued`` and nothing stays in the store or the staging area."""

import os
import time

import pytest
import webob
from oslo_config import cfg

from tests import helpers
from tests.functional import disk_images

CONF = cfg.CONF
OCTET = {"Content-Type": "application/octet-stream"}


def create(app, disk_format: str, container_format: str = "bare") -> str:
    response = app.post_json("/v2/images", {"name": "fi", "disk_format": disk_format,
                                            "container_format": container_format},
                             headers=helpers.MEMBER)
    return response.json["id"]


def show(app, image_id: str) -> dict:
    return app.get(f"/v2/images/{image_id}", headers=helpers.MEMBER).json


def store_files(image_id: str) -> list[str]:
    """Files named after the image anywhere under the state directory."""
    root = CONF.state_path
    return [os.path.join(d, f) for d, _s, files in os.walk(root) for f in files
            if f.startswith(image_id)]


@pytest.mark.parametrize("name", sorted(disk_images.GOOD))
def test_real_image_is_accepted(app, name):
    disk_format, data, virtual_size = disk_images.GOOD[name]
    image_id = create(app, disk_format)
    app.put(f"/v2/images/{image_id}/file", data, headers={**helpers.MEMBER, **OCTET},
            status=204)
    image = show(app, image_id)
    assert image["status"] == "active" and image["size"] == len(data)
    if virtual_size is not None:
        assert image["virtual_size"] == virtual_size


@pytest.mark.parametrize("name", sorted(disk_images.MALICIOUS))
def test_malicious_image_is_refused(app, name):
    disk_format, data = disk_images.MALICIOUS[name]
    image_id = create(app, disk_format)
    response = app.put(f"/v2/images/{image_id}/file", data,
                       headers={**helpers.MEMBER, **OCTET, "Accept": "application/json"},
                       status=400)
    assert "Image data is not acceptable" in response.json["message"]
    image = show(app, image_id)
    assert (image["status"], image["size"], image["checksum"]) == ("queued", None, None)
    assert store_files(image_id) == []


@pytest.mark.parametrize("name", ["qcow2-backing-file", "iso-with-qcow2-header",
                                  "vmdk-extent-outside"])
def test_safety_checks_hold_without_format_match(app, override, name):
    override("require_image_format_match", False, group="image_format")
    disk_format, data = disk_images.MALICIOUS[name]
    image_id = create(app, "raw")
    app.put(f"/v2/images/{image_id}/file", data, headers={**helpers.MEMBER, **OCTET},
            status=400)
    assert show(app, image_id)["status"] == "queued"


def test_mismatch_allowed_when_match_not_required(app, override):
    override("require_image_format_match", False, group="image_format")
    image_id = create(app, "raw")
    data = disk_images.load("plain.qcow2")
    app.put(f"/v2/images/{image_id}/file", data, headers={**helpers.MEMBER, **OCTET},
            status=204)
    image = show(app, image_id)
    assert image["status"] == "active" and image["virtual_size"] == disk_images.MIB


def test_archive_containers_are_not_inspected(app):
    image_id = create(app, "vmdk", container_format="ova")
    app.put(f"/v2/images/{image_id}/file", b"a tar archive, not a disk",
            headers={**helpers.MEMBER, **OCTET}, status=204)
    assert show(app, image_id)["status"] == "active"


def test_mismatch_is_refused_before_the_whole_stream(app):
    """A 64 MiB 'qcow2' of zeros is refused after its first chunk, not at the end."""
    image_id = create(app, "qcow2")
    sent = 0

    def body():
        nonlocal sent
        for _ in range(64):
            sent += 1
            yield b"\0" * disk_images.MIB

    request = webob.Request.blank(f"/v2/images/{image_id}/file", method="PUT",
                                  headers={**helpers.MEMBER, **OCTET})
    request.body_file_raw = _GeneratorInput(body())
    request.content_length = 64 * disk_images.MIB
    response = request.get_response(app.app)
    assert response.status_int == 400
    assert sent < 8
    assert show(app, image_id)["status"] == "queued"


class _GeneratorInput:
    """A ``wsgi.input`` that reads from a generator of chunks."""

    def __init__(self, chunks) -> None:
        self._chunks = chunks
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while len(self._buffer) < max(size, 1):
            chunk = next(self._chunks, b"")
            if not chunk:
                break
            self._buffer += chunk
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


@pytest.mark.parametrize("name", ["qcow2-backing-file", "qcow2-declared-raw"])
def test_stage_refuses_malicious_image(app, name):
    disk_format, data = disk_images.MALICIOUS[name]
    image_id = create(app, disk_format)
    app.put(f"/v2/images/{image_id}/stage", data, headers={**helpers.MEMBER, **OCTET},
            status=400)
    assert show(app, image_id)["status"] == "queued"
    assert store_files(image_id) == []


def test_stage_and_import_real_image(app):
    image_id = create(app, "qcow2")
    app.put(f"/v2/images/{image_id}/stage", disk_images.load("plain.qcow2"),
            headers={**helpers.MEMBER, **OCTET}, status=204)
    app.post_json(f"/v2/images/{image_id}/import", {"method": {"name": "glance-direct"}},
                  headers=helpers.MEMBER, status=202)
    deadline = time.monotonic() + 30
    while show(app, image_id)["status"] != "active" and time.monotonic() < deadline:
        time.sleep(0.1)
    image = show(app, image_id)
    assert image["status"] == "active" and image["virtual_size"] == disk_images.MIB


@pytest.mark.parametrize("disk_format", ["raw", "aki"])
def test_gpt_mbr_check_is_fatal_unless_listed_nonfatal(app, override, disk_format):
    """[image_format] gpt_safety_checks_nonfatal = mbr lets a GPT disk with an odd
    protective MBR in; an aki/ari image never fails on its MBR (as in Glance)."""
    data = disk_images.gpt_disk_bad_mbr()
    image_id = create(app, disk_format)
    status = 204 if disk_format == "aki" else 400
    app.put(f"/v2/images/{image_id}/file", data, headers={**helpers.MEMBER, **OCTET},
            status=status)
    if disk_format == "aki":
        assert show(app, image_id)["status"] == "active"
        return
    assert show(app, image_id)["status"] == "queued" and store_files(image_id) == []
    override("gpt_safety_checks_nonfatal", ["gptmbr"], group="image_format")
    app.put(f"/v2/images/{image_id}/file", data, headers={**helpers.MEMBER, **OCTET},
            status=400)
    override("gpt_safety_checks_nonfatal", ["mbr"], group="image_format")
    app.put(f"/v2/images/{image_id}/file", data, headers={**helpers.MEMBER, **OCTET},
            status=204)
    assert show(app, image_id)["status"] == "active"


def test_nonfatal_gpt_checks_do_not_relax_other_formats(app, override):
    override("gpt_safety_checks_nonfatal", ["mbr", "gptmbr"], group="image_format")
    disk_format, data = disk_images.MALICIOUS["qcow2-backing-file"]
    image_id = create(app, disk_format)
    app.put(f"/v2/images/{image_id}/file", data, headers={**helpers.MEMBER, **OCTET},
            status=400)

"""Import plugins against a real glance-api and real qemu-utils: image_conversion
(qcow2, vmdk, vhd, vhdx to raw, streamed; raw to qcow2), image_decompression
(gzip, zip), inject_image_metadata, the legacy task's conversion_format, and the
failures that leave the image queued with nothing stored."""

import gzip
import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import requests

from tests import helpers, qemu_tools
from tests.functional.http_source import HTTPSource
from tests.functional.test_image_import import (
    image_tasks,
    show,
    stage,
    start_import,
    wait_import,
)
from tests.functional.test_startup_errors import assert_start_up_error, run_glance_api

MIB = 1024 * 1024
LOOPBACK = {"allowed_hosts": "127.0.0.1", "allowed_ports": ""}
PLUGINS = "[image_decompression,image_conversion,inject_image_metadata]"


@pytest.fixture(scope="module", autouse=True)
def qemu():
    qemu_tools.ensure()


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    """A 24 MiB raw disk (data at the start, the middle and the end, zeros between)
    and qemu-img conversions of it."""
    where = tmp_path_factory.mktemp("disks")
    raw = bytearray(24 * MIB)
    raw[0:3 * MIB] = os.urandom(3 * MIB)
    raw[11 * MIB:12 * MIB] = os.urandom(MIB)
    raw[-MIB // 2:] = os.urandom(MIB // 2)
    (where / "disk.raw").write_bytes(bytes(raw))
    made = {"qcow2": ["-O", "qcow2"], "vmdk": ["-O", "vmdk"],
            "stream.vmdk": ["-O", "vmdk", "-o", "subformat=streamOptimized"],
            "vhd": ["-O", "vpc", "-o", "force_size=on"], "vhdx": ["-O", "vhdx"]}
    for name, args in made.items():
        qemu_tools.qemu_img("convert", "-f", "raw", *args, str(where / "disk.raw"),
                            str(where / f"disk.{name}"))
    qemu_tools.qemu_img("create", "-f", "qcow2", "-b", str(where / "disk.qcow2"),
                        "-F", "qcow2", str(where / "backed.qcow2"))
    return where


def converted(path: Path, fmt: str, tmp_path: Path) -> bytes:
    """What ``qemu-img convert -O raw`` makes of ``path``: the expected result."""
    out = tmp_path / "expected.raw"
    qemu_tools.qemu_img("convert", "-f", fmt, "-O", "raw", str(path), str(out))
    return out.read_bytes()


@pytest.fixture(scope="module")
def convert_server(start_server):
    return start_server({
        "image_import_opts": {"image_import_plugins": PLUGINS},
        "inject_metadata_properties": {"inject": "injected:yes,os_glance_x:no",
                                       "ignore_user_roles": "admin"},
        "import_filtering_opts": LOOPBACK,
        "taskflow_executor": {"conversion_format": "raw"},
    }, name="convert")


@pytest.fixture(scope="module")
def qcow2_server(start_server):
    return start_server({
        "image_import_opts": {"image_import_plugins": "[image_conversion]"},
        "image_conversion": {"output_format": "qcow2"},
    }, name="convert-qcow2")


@pytest.fixture(scope="module")
def source():
    with HTTPSource() as src:
        yield src


def create(server, disk_format, container_format="bare", headers=helpers.MEMBER) -> str:
    response = requests.post(f"{server.url}/v2/images", headers=headers,
                             json={"name": "conv", "disk_format": disk_format,
                                   "container_format": container_format})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def direct(server, data: bytes, disk_format, headers=helpers.MEMBER, **kw) -> dict:
    image_id = create(server, disk_format, headers=headers, **kw)
    assert stage(server, image_id, data, headers).status_code == 204
    response = start_import(server, image_id, {"method": {"name": "glance-direct"}},
                            headers)
    assert response.status_code == 202, response.text
    return wait_import(server, image_id, timeout=60, headers=headers)


def download(server, image_id) -> bytes:
    response = requests.get(f"{server.url}/v2/images/{image_id}/file",
                            headers=helpers.MEMBER)
    assert response.status_code == 200, response.text
    return response.content


def stored_files(server) -> list[str]:
    images = server.state_path / "images"
    return sorted(os.listdir(images)) if images.exists() else []


def staging_files(server) -> list[str]:
    staging = server.state_path / "staging"
    return sorted(os.listdir(staging)) if staging.exists() else []


def assert_raw_image(server, image: dict, expected: bytes) -> None:
    assert image["status"] == "active", image
    assert image["disk_format"] == "raw" and image["container_format"] == "bare"
    assert image["size"] == image["virtual_size"] == len(expected)
    assert image["checksum"] == hashlib.md5(expected).hexdigest()
    assert image["os_hash_algo"] == "sha512"
    assert image["os_hash_value"] == hashlib.sha512(expected).hexdigest()
    assert "os_glance_import_task" not in image  # dropped on success, as in Glance
    assert image["os_glance_failed_import"] == ""
    assert download(server, image["id"]) == expected


def assert_failed(server, image: dict, *words: str) -> None:
    assert image["status"] == "queued", image
    assert image["size"] is None and image["checksum"] is None
    assert "os_glance_import_task" not in image
    task = image_tasks(server, image["id"])[-1]
    assert task["status"] == "failure", task
    for word in words:
        assert word in task["message"], task["message"]
    assert not [name for name in stored_files(server) if name.startswith(image["id"])]
    assert not [name for name in staging_files(server) if name.startswith(image["id"])]


# -- image_conversion ----------------------------------------------------------------------

@pytest.mark.parametrize(("name", "disk_format", "qemu_format"), [
    ("qcow2", "qcow2", "qcow2"), ("vmdk", "vmdk", "vmdk"),
    ("stream.vmdk", "vmdk", "vmdk"), ("vhd", "vhd", "vpc"), ("vhdx", "vhdx", "vhdx"),
])
def test_converted_to_raw_with_the_right_size_and_hashes(convert_server, images, tmp_path,
                                                          name, disk_format, qemu_format):
    path = images / f"disk.{name}"
    expected = converted(path, qemu_format, tmp_path)
    image = direct(convert_server, path.read_bytes(), disk_format)
    assert_raw_image(convert_server, image, expected)
    assert image["injected"] == "yes" and "os_glance_x" not in image
    assert staging_files(convert_server) == []


def test_qcow2_comes_back_as_the_original_raw_disk(convert_server, images):
    raw = (images / "disk.raw").read_bytes()
    image = direct(convert_server, (images / "disk.qcow2").read_bytes(), "qcow2")
    assert_raw_image(convert_server, image, raw)


def test_raw_is_stored_as_it_is_with_its_virtual_size(convert_server, images):
    raw = (images / "disk.raw").read_bytes()
    image = direct(convert_server, raw, "raw")
    assert_raw_image(convert_server, image, raw)


def test_iso_is_not_converted(convert_server):
    from tests.functional.disk_images import iso
    data = iso()
    image = direct(convert_server, data, "iso")
    assert image["status"] == "active" and image["disk_format"] == "iso"
    assert download(convert_server, image["id"]) == data


def test_web_download_is_converted(convert_server, images, source, tmp_path):
    source.files["/disk.qcow2"] = (images / "disk.qcow2").read_bytes()
    image_id = create(convert_server, "qcow2")
    response = start_import(convert_server, image_id, {"method": {
        "name": "web-download", "uri": source.url("/disk.qcow2")}})
    assert response.status_code == 202, response.text
    image = wait_import(convert_server, image_id, timeout=60)
    assert_raw_image(convert_server, image, (images / "disk.raw").read_bytes())


def test_output_format_qcow2(qcow2_server, images, tmp_path):
    image = direct(qcow2_server, (images / "disk.raw").read_bytes(), "raw")
    assert image["status"] == "active", image_tasks(qcow2_server, image["id"])
    assert image["disk_format"] == "qcow2"
    data = download(qcow2_server, image["id"])
    assert image["size"] == len(data) and image["virtual_size"] == 24 * MIB
    assert image["os_hash_value"] == hashlib.sha512(data).hexdigest()
    out = tmp_path / "back.qcow2"
    out.write_bytes(data)
    info = json.loads(qemu_tools.qemu_img("info", "--output=json", str(out)))
    assert info["format"] == "qcow2" and info["virtual-size"] == 24 * MIB
    qemu_tools.qemu_img("compare", "-f", "qcow2", "-F", "raw", str(out),
                        str(images / "disk.raw"))
    assert staging_files(qcow2_server) == []


def test_copy_image_runs_no_plugin(start_server, images, tmp_path):
    """Glance runs no plugin for copy-image: the copy is the stored data."""
    other = tmp_path / "fs2"
    server = start_server({
        "DEFAULT": {"enabled_backends": "fs1:file, fs2:file"},
        "glance_store": {"default_backend": "fs1"},
        "fs2": {"filesystem_store_datadir": str(other)},
        "image_import_opts": {"image_import_plugins": "[image_conversion]"},
    }, name="convert-multi")
    image = direct(server, (images / "disk.qcow2").read_bytes(), "qcow2")
    assert image["disk_format"] == "raw", image_tasks(server, image["id"])
    response = start_import(server, image["id"], {"method": {"name": "copy-image"},
                                                  "stores": ["fs2"]}, helpers.ADMIN)
    assert response.status_code == 202, response.text
    def both_succeeded() -> bool:
        tasks = image_tasks(server, image["id"], helpers.ADMIN)
        return len(tasks) == 2 and {t["status"] for t in tasks} == {"success"}
    assert helpers.wait_until(both_succeeded, timeout=60)
    copied = show(server, image["id"])
    assert copied["stores"] == "fs1,fs2"
    assert copied["os_hash_value"] == image["os_hash_value"]
    assert "os_glance_import_task" not in copied
    assert [p.stat().st_size for p in other.iterdir()] == [image["size"]]


# -- image_decompression -------------------------------------------------------------------

def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize("kind", ["gzip", "zip"])
def test_compressed_qcow2_is_decompressed_then_converted(convert_server, images, kind):
    qcow2 = (images / "disk.qcow2").read_bytes()
    data = gzip.compress(qcow2) if kind == "gzip" else _zip({"disk.qcow2": qcow2})
    image = direct(convert_server, data, "qcow2")
    assert_raw_image(convert_server, image, (images / "disk.raw").read_bytes())


def test_container_format_compressed_is_left_compressed(convert_server):
    data = gzip.compress(b"\0" * MIB)
    image = direct(convert_server, data, "raw", container_format="compressed")
    assert image["status"] == "active" and image["size"] == len(data)
    assert image["disk_format"] == "raw" and image["container_format"] == "compressed"


def test_zip_with_two_files_fails(convert_server):
    image = direct(convert_server, _zip({"a": b"1", "b": b"2"}), "raw")
    assert_failed(convert_server, image, "exactly one file")


def test_broken_gzip_fails(convert_server):
    data = gzip.compress(os.urandom(MIB))[:-5000]
    image = direct(convert_server, data, "raw")
    assert_failed(convert_server, image, "gzip")


# -- inject_image_metadata -------------------------------------------------------------------

def test_ignored_roles_get_nothing_injected(convert_server):
    image = direct(convert_server, b"\1" * 4096, "raw", headers=helpers.ADMIN)
    assert image["status"] == "active"
    assert "injected" not in image


# -- failures ----------------------------------------------------------------------------------

def test_backing_file_is_refused(convert_server, images):
    image = direct(convert_server, (images / "backed.qcow2").read_bytes(), "qcow2")
    assert image["status"] == "queued"
    task = image_tasks(convert_server, image["id"])[-1]
    assert task["status"] == "failure" and "backing" in task["message"]
    assert not [n for n in stored_files(convert_server) if n.startswith(image["id"])]


def test_declared_format_must_match(convert_server, images):
    image = direct(convert_server, gzip.compress((images / "disk.vhdx").read_bytes()),
                   "qcow2")
    assert_failed(convert_server, image, "disk_format is qcow2", "vhdx")


def _unaligned_cluster(qcow2: bytes, cluster: int) -> bytes:
    """``qcow2`` with the L2 entry of ``cluster`` pointing inside another cluster:
    qemu finds the image corrupt when it reads that cluster, not before."""
    data = bytearray(qcow2)
    (l1_offset,) = struct.unpack(">Q", data[0x28:0x30])
    (l1_entry,) = struct.unpack(">Q", data[l1_offset:l1_offset + 8])
    entry_at = (l1_entry & 0x00FFFFFFFFFFFE00) + 8 * cluster
    (entry,) = struct.unpack(">Q", data[entry_at:entry_at + 8])
    assert entry & 0x00FFFFFFFFFFFE00
    data[entry_at:entry_at + 8] = struct.pack(">Q", entry + 512)
    return bytes(data)


def test_corrupt_qcow2_fails_while_streaming(convert_server, images):
    """qemu-nbd fails to read a cluster 11 MiB into the disk: the store write is
    undone, the image stays queued in its declared format."""
    data = _unaligned_cluster((images / "disk.qcow2").read_bytes(), 11 * 16)
    image = direct(convert_server, data, "qcow2")
    assert_failed(convert_server, image, "qemu-nbd")
    assert image["disk_format"] == "qcow2"


@pytest.fixture(scope="module")
def strict_server(start_server):
    return start_server({
        "DEFAULT": {"image_size_cap": 30 * MIB},
        "image_import_opts": {"image_import_plugins":
                              "[image_decompression,image_conversion]"},
        "image_format": {"vmdk_allowed_types": "monolithicSparse"},
    }, name="convert-strict")


def test_disallowed_vmdk_type(strict_server, images):
    image = direct(strict_server, (images / "disk.stream.vmdk").read_bytes(), "vmdk")
    assert_failed(strict_server, image, "streamOptimized", "vmdk_allowed_types")
    ok = direct(strict_server, (images / "disk.vmdk").read_bytes(), "vmdk")
    assert ok["status"] == "active" and ok["disk_format"] == "raw"


def test_archive_expanding_past_the_size_cap_fails(strict_server):
    image = direct(strict_server, gzip.compress(b"\0" * 31 * MIB), "raw")
    assert_failed(strict_server, image, "too large")


# -- legacy import task ----------------------------------------------------------------------

def test_legacy_import_task_converts(convert_server, images, source):
    source.files["/task.qcow2"] = (images / "disk.qcow2").read_bytes()
    body = {"type": "import", "input": {
        "import_from": source.url("/task.qcow2"), "import_from_format": "qcow2",
        "image_properties": {"name": "task", "disk_format": "qcow2",
                             "container_format": "bare"}}}
    created = requests.post(f"{convert_server.url}/v2/tasks", json=body,
                            headers=helpers.ADMIN)
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]

    def ended():
        task = requests.get(f"{convert_server.url}/v2/tasks/{task_id}",
                            headers=helpers.ADMIN).json()
        return task if task["status"] in ("success", "failure") else None
    assert helpers.wait_until(ended, timeout=60)
    task = ended()
    assert task["status"] == "success", task
    image = requests.get(f"{convert_server.url}/v2/images/{task['result']['image_id']}",
                         headers=helpers.ADMIN).json()
    raw = (images / "disk.raw").read_bytes()
    assert image["disk_format"] == "raw" and image["size"] == len(raw)
    assert image["os_hash_value"] == hashlib.sha512(raw).hexdigest()


# -- configuration -----------------------------------------------------------------------------

@pytest.mark.parametrize(("section", "option", "value", "words"), [
    ("image_import_opts", "image_import_plugins", "[image_conversion,bogus]",
     ["image_import_plugins", "bogus"]),
    ("image_conversion", "output_format", "vhd", ["output_format", "vhd"]),
    ("taskflow_executor", "conversion_format", "iso", ["conversion_format", "iso"]),
    ("inject_metadata_properties", "inject", "novalue", ["inject"]),
], ids=["unknown-plugin", "output-format", "conversion-format", "inject"])
def test_bad_values_stop_glance_api(tmp_path, section, option, value, words):
    config = helpers.write_config(tmp_path, {section: {option: value}})
    assert_start_up_error(run_glance_api(config), *words)


def test_conversion_without_qemu_stops_glance_api(tmp_path):
    section, option = "image_import_opts", "image_import_plugins"
    config = helpers.write_config(tmp_path, {section: {option: "[image_conversion]"},
                                             "taskflow_executor": {
                                                 "conversion_format": "raw"}})
    command = [sys.executable, "-m", "glance.cmd.api", "--config-file", str(config)]
    env = {**os.environ, "PATH": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                            env=env, cwd=tmp_path)
    assert_start_up_error(result, f"[{section}] {option}", "conversion_format",
                          "qemu-img", "qemu-utils")

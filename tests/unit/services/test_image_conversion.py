"""qemu-img checks and the qemu-nbd raw stream (glance.services.image_conversion),
with the real qemu-utils."""

import hashlib
import os

import pytest

from glance import exception
from glance.services import image_conversion
from tests import qemu_tools

MIB = 1024 * 1024


@pytest.fixture(scope="module", autouse=True)
def qemu():
    qemu_tools.ensure()


@pytest.fixture
def disks(tmp_path):
    raw = tmp_path / "d.raw"
    raw.write_bytes(os.urandom(MIB) + b"\0" * (3 * MIB) + os.urandom(MIB))
    for fmt in ("qcow2", "vpc", "vhdx"):
        extra = ["-o", "force_size=on"] if fmt == "vpc" else []
        qemu_tools.qemu_img("convert", "-f", "raw", "-O", fmt, *extra, str(raw),
                            str(tmp_path / f"d.{fmt}"))
    return tmp_path


@pytest.mark.parametrize(("name", "disk_format"), [("qcow2", "qcow2"), ("vpc", "vhd"),
                                                    ("vhdx", "vhdx")])
def test_raw_chunks_is_the_raw_disk(disks, name, disk_format):
    path = str(disks / f"d.{name}")
    info = image_conversion.describe(path, disk_format)
    assert info.virtual_size == 5 * MIB
    data = b"".join(image_conversion.raw_chunks(path, disk_format, info.virtual_size,
                                                chunk_size=MIB // 3))
    expected = (disks / "d.raw").read_bytes()
    assert hashlib.sha512(data).digest() == hashlib.sha512(expected).digest()


def test_raw_chunks_checks_the_size(disks):
    with pytest.raises(exception.ImportFailed, match="the converted disk has"):
        list(image_conversion.raw_chunks(str(disks / "d.qcow2"), "qcow2", MIB))


def test_describe_refuses_backing_files_and_other_formats(disks):
    backed = disks / "b.qcow2"
    qemu_tools.qemu_img("create", "-f", "qcow2", "-b", str(disks / "d.qcow2"), "-F",
                        "qcow2", str(backed))
    with pytest.raises(exception.ImportFailed, match="backing file"):
        image_conversion.describe(str(backed), "qcow2")
    with pytest.raises(exception.ImportFailed, match="cannot read the image as vhdx"):
        image_conversion.describe(str(disks / "d.qcow2"), "vhdx")


def test_convert_file_leaves_nothing_on_failure(disks):
    dest = disks / "out.qcow2"
    with pytest.raises(exception.ImportFailed, match="qemu-img convert failed"):
        image_conversion.convert_file(str(disks / "d.raw"), "vhdx", "qcow2", str(dest))
    assert not dest.exists()

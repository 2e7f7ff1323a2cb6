"""Disk images for format-inspection tests: real ones (qemu-img made, see
disk_images/README) and malicious variants derived from them."""

import gzip
import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent / "disk_images"
MIB = 1024 * 1024


def load(name: str) -> bytes:
    """A fixture image's bytes."""
    return gzip.decompress((HERE / f"{name}.gz").read_bytes())


def iso(blocks: int = 64, system_area: bytes = b"") -> bytes:
    """An ISO 9660 volume: 16 system sectors, a primary volume descriptor, padding."""
    area = system_area.ljust(32 * 1024, b"\0")
    pvd = bytearray(2048)
    pvd[0:7] = b"\x01CD001\x01"
    pvd[80:88] = struct.pack("<I", blocks) + struct.pack(">I", blocks)
    pvd[128:132] = struct.pack("<H", 2048) + struct.pack(">H", 2048)
    terminator = b"\xffCD001\x01".ljust(2048, b"\0")
    return (area + bytes(pvd) + terminator).ljust(blocks * 2048, b"\0")


def gpt_disk(size: int = MIB) -> bytes:
    """A raw disk whose first sectors hold a protective MBR and a GPT header."""
    mbr = bytearray(512)
    entry = bytearray(16)
    entry[4] = 0xEE  # GPT protective partition
    entry[1:4] = b"\x00\x02\x00"
    entry[8:12] = struct.pack("<I", 1)
    entry[12:16] = struct.pack("<I", size // 512 - 1)
    mbr[446:462] = entry
    mbr[510:512] = b"\x55\xaa"
    header = b"EFI PART".ljust(512, b"\0")
    return (bytes(mbr) + header).ljust(size, b"\0")


def gpt_disk_bad_mbr() -> bytes:
    """A GPT disk whose protective MBR entry has an invalid boot flag (fails the
    GPT inspector's ``mbr`` safety check)."""
    data = bytearray(gpt_disk())
    data[446] = 0x01
    return bytes(data)


def _patch(data: bytes, old: bytes, new: bytes) -> bytes:
    assert old in data and len(new) <= len(old)
    return data.replace(old, new.ljust(len(old), b" "), 1)


def vmdk_extent_outside() -> bytes:
    """A sparse vmdk whose embedded descriptor points its extent at /etc/passwd."""
    return _patch(load("sparse.vmdk"), b'"sparse.vmdk"', b'"/etc/passwd"')


def vmdk_flat_extent() -> bytes:
    """A sparse vmdk whose descriptor adds a FLAT extent in another (relative) file."""
    return _patch(load("sparse.vmdk"), b'RW 2048 SPARSE "sparse.vmdk"',
                  b'RW 2048 FLAT "base.raw" 0')


def qcow2_unknown_feature() -> bytes:
    """A v3 qcow2 with an incompatible-feature bit nobody knows."""
    data = bytearray(load("plain.qcow2"))
    data[0x48:0x50] = struct.pack(">Q", 1 << 40)
    return bytes(data)


def qcow2_v1() -> bytes:
    """A qcow2 header claiming the old version 1."""
    data = bytearray(load("plain.qcow2"))
    data[4:8] = struct.pack(">I", 1)
    return bytes(data)


def qcow2_in_raw() -> bytes:
    """A qcow2 (with a backing file) followed by raw padding: a disguise for raw."""
    return load("backing.qcow2") + b"\0" * MIB


# name -> (declared disk_format, data, expected virtual size)
GOOD = {
    "raw": ("raw", b"\x01" * 100_000, 100_000),
    "raw-gpt": ("raw", gpt_disk(), MIB),
    "qcow2-v3": ("qcow2", load("plain.qcow2"), MIB),
    "qcow2-v2": ("qcow2", load("v2.qcow2"), MIB),
    "vmdk-sparse": ("vmdk", load("sparse.vmdk"), MIB),
    "vmdk-stream": ("vmdk", load("stream.vmdk"), MIB),
    "vhd": ("vhd", load("plain.vhd"), None),
    "vhdx": ("vhdx", load("plain.vhdx"), MIB),
    "vdi": ("vdi", load("plain.vdi"), MIB),
    "iso": ("iso", iso(), 64 * 2048),
    "ploop-opaque": ("ploop", b"WithouFreSpacExt" + b"\0" * 4096, None),
}

# name -> (declared disk_format, data): every one must be refused with 400
MALICIOUS = {
    "qcow2-backing-file": ("qcow2", load("backing.qcow2")),
    "qcow2-data-file": ("qcow2", load("datafile.qcow2")),
    "qcow2-unknown-feature": ("qcow2", qcow2_unknown_feature()),
    "qcow2-v1": ("qcow2", qcow2_v1()),
    "qcow2-declared-raw": ("raw", load("plain.qcow2")),
    "qcow2-backing-declared-raw": ("raw", qcow2_in_raw()),
    "qcow2-declared-iso": ("iso", load("plain.qcow2")),
    "qcow2-declared-ploop": ("ploop", load("plain.qcow2")),
    "vmdk-declared-raw": ("raw", load("sparse.vmdk")),
    "vmdk-extent-outside": ("vmdk", vmdk_extent_outside()),
    "vmdk-flat-extent": ("vmdk", vmdk_flat_extent()),
    "vmdk-descriptor-only": ("vmdk", load("flat.vmdk")),
    "vhd-declared-vhdx": ("vhdx", load("plain.vhd")),
    "vdi-declared-qcow2": ("qcow2", load("plain.vdi")),
    "raw-declared-qcow2": ("qcow2", b"\x01" * 100_000),
    "empty-declared-qcow2": ("qcow2", b""),
    "iso-with-qcow2-header": ("iso", iso(system_area=load("plain.qcow2")[:512])),
    "iso-with-qcow2-declared-qcow2": ("qcow2", iso(system_area=load("plain.qcow2")[:512])),
    "qed": ("raw", load("plain.qed")),
    "gpt-declared-qcow2": ("qcow2", gpt_disk()),
}

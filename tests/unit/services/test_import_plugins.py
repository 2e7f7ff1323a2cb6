"""The import plugins on staged files (glance.services.import_plugins): order,
metadata injection, decompression and its limit, the conversion checks."""

import gzip
import io
import zipfile

import pytest

from glance import exception, quota
from glance.services import import_plugins
from tests import qemu_tools

MIB = 1024 * 1024
NO_LIMIT = quota.UploadLimit(cap=1 << 40, quota_remaining=None)


@pytest.fixture
def plugins(override):
    def _set(names, options=None):
        override("image_import_plugins", names, group="image_import_opts")
        for (group, name), value in (options or {}).items():
            override(name, value, group=group)
    return _set


def staged(tmp_path, data: bytes):
    path = tmp_path / "image"
    path.write_bytes(data)
    return path


def image(disk_format="raw", container_format="bare"):
    return {"id": "i1", "disk_format": disk_format, "container_format": container_format}


def test_inject_drops_reserved_keys_and_skips_ignored_roles(plugins, tmp_path):
    plugins(["inject_image_metadata"], {
        ("inject_metadata_properties", "inject"): {"a": "1", "os_glance_x": "2"},
        ("inject_metadata_properties", "ignore_user_roles"): ["admin"]})
    path = staged(tmp_path, b"data")
    assert import_plugins.prepare(image(), str(path), ["member"], NO_LIMIT).properties \
        == {"a": "1"}
    assert import_plugins.prepare(image(), str(path), ["admin"], NO_LIMIT).properties == {}


def test_no_op_changes_nothing(plugins, tmp_path):
    plugins(["no_op"])
    path = staged(tmp_path, b"data")
    prepared = import_plugins.prepare(image(), str(path), [], NO_LIMIT)
    assert (prepared.values, prepared.properties, prepared.stream) == ({}, {}, None)
    assert list(prepared.chunks()) == [b"data"]


def _zip(members):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize("pack", [gzip.compress, lambda data: _zip({"x": data})])
def test_decompression_replaces_the_staged_file(plugins, tmp_path, pack):
    plugins(["image_decompression"])
    path = staged(tmp_path, pack(b"disk" * 1000))
    import_plugins.prepare(image(), str(path), [], NO_LIMIT)
    assert path.read_bytes() == b"disk" * 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["image"]


def test_compressed_container_and_plain_data_are_left_alone(plugins, tmp_path):
    plugins(["image_decompression"])
    packed = gzip.compress(b"x")
    path = staged(tmp_path, packed)
    import_plugins.prepare(image(container_format="compressed"), str(path), [], NO_LIMIT)
    assert path.read_bytes() == packed
    plain = staged(tmp_path, b"plain")
    import_plugins.prepare(image(), str(plain), [], NO_LIMIT)
    assert plain.read_bytes() == b"plain"


def test_decompression_stops_at_the_limit_and_leaves_no_file(plugins, tmp_path):
    plugins(["image_decompression"])
    path = staged(tmp_path, gzip.compress(b"\0" * (3 * MIB)))
    with pytest.raises(exception.ImageSizeLimitExceeded):
        import_plugins.prepare(image(), str(path), [],
                               quota.UploadLimit(cap=2 * MIB, quota_remaining=None))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["image"]


def test_conversion_streams_raw_only_when_it_is_the_last_data_step(plugins, tmp_path):
    qemu_tools.ensure()
    raw = staged(tmp_path, b"\1" * MIB)
    qcow2 = tmp_path / "q"
    qemu_tools.qemu_img("convert", "-f", "raw", "-O", "qcow2", str(raw), str(qcow2))
    plugins(["image_conversion"])
    prepared = import_plugins.prepare(image("qcow2"), str(qcow2), [], NO_LIMIT)
    assert prepared.values == {"virtual_size": MIB, "disk_format": "raw",
                               "container_format": "bare"}
    assert prepared.stream is not None and prepared.data_size() == MIB
    assert b"".join(prepared.chunks()) == b"\1" * MIB
    plugins(["image_conversion", "image_decompression"])
    prepared = import_plugins.prepare(image("qcow2"), str(qcow2), [], NO_LIMIT)
    assert prepared.stream is None and qcow2.read_bytes() == b"\1" * MIB


def test_conversion_refuses_a_mismatch(plugins, tmp_path):
    plugins(["image_conversion"])
    path = staged(tmp_path, b"\0" * 4096)
    with pytest.raises(exception.ImportFailed, match="disk_format is qcow2 but the data "
                       "is raw"):
        import_plugins.prepare(image("qcow2"), str(path), [], NO_LIMIT)

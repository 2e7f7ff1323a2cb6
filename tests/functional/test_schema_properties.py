"""The image schema's optional properties (Glance's schema-image.json ones) through
the real python-glanceclient against a real glance-api.

python-glanceclient reads ``is_base`` from ``/v2/schemas/image`` to build its JSON
patch: a base property missing from an image is ``replace``d (Glance answers 409
"Property ... does not exist"), a non-base one is ``add``ed. Our schema must mark
them as Glance's does (``is_base: false``).
"""

import glanceclient
import pytest
import requests

from tests import helpers

OPTIONAL = ["architecture", "os_distro", "os_version", "description", "instance_uuid",
            "kernel_id", "ramdisk_id", "cinder_encryption_key_id",
            "cinder_encryption_key_deletion_policy"]
VALUES = {"kernel_id": "4f1b5e0e-9b1c-4a43-8d54-6f2a2a3c1d00",
          "ramdisk_id": "4f1b5e0e-9b1c-4a43-8d54-6f2a2a3c1d01",
          "cinder_encryption_key_deletion_policy": "do_not_delete"}


def test_optional_properties_are_not_base(server):
    properties = requests.get(f"{server.url}/v2/schemas/image",
                              headers=helpers.MEMBER).json()["properties"]
    assert sorted(name for name, prop in properties.items()
                  if prop.get("is_base", True) is False) == sorted(OPTIONAL)


def _image(server) -> str:
    out = helpers.glance_cli(server, "image-create", "--name", "schema-props",
                             "--disk-format", "raw", "--container-format", "bare")
    return helpers.table_field(out, "id")


def test_cli_property_on_an_image_without_it(server):
    """``glance image-update --property os_version=1`` (and the other optional
    properties) on an image lacking them: added, not a 409."""
    image_id = _image(server)
    for name in OPTIONAL:
        value = VALUES.get(name, "1")
        out = helpers.glance_cli(server, "image-update", "--property", f"{name}={value}",
                                 image_id)
        assert helpers.table_field(out, name) == value
    image = requests.get(f"{server.url}/v2/images/{image_id}", headers=helpers.ADMIN).json()
    assert {name: image[name] for name in OPTIONAL} == {
        name: VALUES.get(name, "1") for name in OPTIONAL}


def test_cli_schema_options_on_an_image_without_them(server):
    """The options glanceclient builds from the schema (``--os-distro`` ...)."""
    image_id = _image(server)
    out = helpers.glance_cli(server, "image-update", "--os-distro", "debian",
                             "--os-version", "12", "--architecture", "x86_64", image_id)
    assert (helpers.table_field(out, "os_distro"), helpers.table_field(out, "os_version"),
            helpers.table_field(out, "architecture")) == ("debian", "12", "x86_64")


@pytest.mark.parametrize("name", ["os_version", "os_distro", "architecture"])
def test_library_update_then_remove(server, name):
    client = glanceclient.Client("2", endpoint=server.url, token="x")
    image = client.images.create(name="lib", disk_format="raw", container_format="bare")
    updated = client.images.update(image.id, **{name: "v1"})
    assert updated[name] == "v1"
    updated = client.images.update(image.id, **{name: "v2"})
    assert updated[name] == "v2"
    removed = client.images.update(image.id, remove_props=[name])
    assert name not in removed

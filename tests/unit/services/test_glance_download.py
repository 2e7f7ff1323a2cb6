"""glance-download's request parsing, catalog lookup and carried properties."""

import pytest

from glance import exception
from glance.services import glance_download

IMAGE = "36d4b546-64a2-4bb9-bdd0-ba676aa48f2c"


class Caller:
    auth_token = "tok"
    service_catalog = [
        {"type": "compute", "endpoints": [{"region": "r2", "publicURL": "http://nova"}]},
        {"type": "image", "endpoints": [
            {"region": "RegionOne", "publicURL": "http://one/", "internalURL": "http://i1"},
            {"region": "R2", "publicURL": "http://two"}]},
        {"type": "image", "endpoints": [
            {"region_id": "v3", "interface": "admin", "url": "http://three-admin"}]},
    ]


def _ref(**method):
    return glance_download.parse_method({"glance_image_id": IMAGE, **method}, Caller())


@pytest.mark.parametrize("region,interface,url", [
    ("RegionOne", "public", "http://one"), ("regionone", "internal", "http://i1"),
    ("r2", "public", "http://two"), ("v3", "admin", "http://three-admin")])
def test_endpoint_from_the_catalog(region, interface, url):
    ref = _ref(glance_region=region, glance_service_interface=interface)
    assert glance_download.endpoint(ref) == url


@pytest.mark.parametrize("region,interface", [("nowhere", "public"), ("r2", "internal")])
def test_no_endpoint_fails_the_import(region, interface):
    with pytest.raises(exception.ImportFailed, match=f"{interface} glance endpoint not "
                                                     f"found for region {region}"):
        glance_download.endpoint(_ref(glance_region=region,
                                      glance_service_interface=interface))


def test_interface_defaults_to_public_and_token_goes_along():
    ref = _ref(glance_region="r2")
    assert (ref.interface, ref.token, ref.image_id) == ("public", "tok", IMAGE)


def test_carried_properties_follow_the_prefixes_and_never_os_glance(override):
    override("extra_properties", ["hw_", "trait:", "os_"], group="glance_download_properties")
    remote = glance_download.RemoteImage({
        "hw_cpu_cores": "5", "os_distro": "rhel", "speed": "88", "os_type": "linux",
        "os_glance_import_task": "x", "trait:A": "required", "size": 3, "tags": []})
    assert remote.carried_properties() == {"hw_cpu_cores": "5", "os_distro": "rhel",
                                           "os_type": "linux", "trait:A": "required"}
    override("extra_properties", ["speed"], group="glance_download_properties")
    assert remote.carried_properties() == {"speed": "88"}


def test_size_must_be_known():
    with pytest.raises(exception.ImportFailed, match="could not be determined"):
        _ = glance_download.RemoteImage({"id": IMAGE, "size": None}).size

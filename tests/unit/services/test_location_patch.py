"""The location rule table and validation_data checks, without a server."""

import hashlib

import pytest

from glance import exception
from glance.domain import image as domain
from glance.services import location_patch

STATUSES = sorted(domain.STATUS_TRANSITIONS)
ALLOWED = {"add": {"queued", "active"}, "replace": {"queued", "active"},
           "remove": {"active"}}


@pytest.mark.parametrize(("operation", "status"),
                         [(op, status) for op in sorted(ALLOWED) for status in STATUSES],
                         ids=[f"{op}-{status}" for op in sorted(ALLOWED)
                              for status in STATUSES])
def test_rule_table(operation, status):
    if status in ALLOWED[operation]:
        domain.check_location_operation(operation, status)
        return
    with pytest.raises(exception.Conflict) as caught:
        domain.check_location_operation(operation, status)
    assert str(caught.value) == (
        f"It's not allowed to {operation} locations if image status is {status}.")


SHA = hashlib.sha512(b"x").hexdigest()
MD5 = hashlib.md5(b"x", usedforsecurity=False).hexdigest()


@pytest.mark.parametrize("data", [
    {"os_hash_algo": "sha256", "os_hash_value": hashlib.sha256(b"x").hexdigest()},
    {"os_hash_algo": "sha123", "os_hash_value": SHA},
    {"os_hash_value": SHA},
    {"os_hash_algo": "sha512", "os_hash_value": "zz" * 64},
    {"os_hash_algo": "sha512", "os_hash_value": SHA[:-2]},
    {"os_hash_algo": "sha512"},
    {"checksum": "not hex" + "0" * 25},
], ids=["other-algo", "unknown-algo", "no-algo", "not-hex", "short", "no-value",
        "bad-checksum"])
def test_malformed_validation_data(app, data):
    with pytest.raises(exception.InvalidValidationData):
        location_patch.check_validation_data(data)


def test_any_algorithm_for_the_v2_17_api(app):
    """POST /locations takes any fixed-size hashlib algorithm (sha256 in tempest)."""
    sha256 = hashlib.sha256(b"x").hexdigest()
    claim = {"os_hash_algo": "sha256", "os_hash_value": sha256}
    assert location_patch.check_validation_data(claim, any_algorithm=True) == claim
    for bad in ({"os_hash_algo": "sha256", "os_hash_value": SHA},
                {"os_hash_algo": "shake_128", "os_hash_value": sha256},
                {"os_hash_algo": "sha123", "os_hash_value": sha256}):
        with pytest.raises(exception.InvalidValidationData):
            location_patch.check_validation_data(bad, any_algorithm=True)


def test_validation_data_against_the_image(app):
    image = domain.Image(id="i", checksum=MD5, os_hash_algo="sha512", os_hash_value=SHA)
    claim = {"checksum": MD5.upper(), "os_hash_algo": "sha512", "os_hash_value": SHA}
    assert location_patch.check_validation_data(claim, image)["checksum"] == MD5
    assert location_patch.check_validation_data({"checksum": MD5}, image) == {"checksum": MD5}
    assert location_patch.check_validation_data({}) == {}
    for name, wrong in (("checksum", "0" * 32), ("os_hash_algo", "sha256"),
                        ("os_hash_value", "beefdead" * 16)):
        with pytest.raises(exception.ValidationDataConflict):  # 409, as tempest expects
            location_patch.check_validation_data({**claim, name: wrong}, image)

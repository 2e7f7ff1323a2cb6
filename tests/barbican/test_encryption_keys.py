"""Cinder's encryption keys of images, in a real Barbican: deleting an image with
``cinder_encryption_key_deletion_policy = on_image_deletion`` deletes its key."""

import uuid

import pytest
import requests

from tests.barbican.test_signatures import _call, _create

KEY_ID = "cinder_encryption_key_id"
POLICY = "cinder_encryption_key_deletion_policy"


def _store_key(key_manager, user) -> str:
    """A symmetric key stored in Barbican as ``user``; returns its id."""
    response = requests.post(key_manager.barbican.url + "/v1/secrets", timeout=30,
                             headers={"X-Auth-Token": user.token}, json={
        "name": "volume-key", "secret_type": "symmetric", "algorithm": "aes",
        "bit_length": 256, "mode": "xts",
        "payload": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        "payload_content_type": "application/octet-stream",
        "payload_content_encoding": "base64"})
    assert response.status_code == 201, response.text
    return response.json()["secret_ref"].rstrip("/").rsplit("/", 1)[1]


def _key_exists(key_manager, user, key_id: str) -> bool:
    response = requests.get(f"{key_manager.barbican.url}/v1/secrets/{key_id}", timeout=30,
                            headers={"X-Auth-Token": user.token})
    assert response.status_code in (200, 404), response.text
    return response.status_code == 200


def _delete(glance, user, image_id: str) -> None:
    response = _call(glance, user, "DELETE", f"/v2/images/{image_id}")
    assert response.status_code == 204, response.text
    assert _call(glance, user, "GET", f"/v2/images/{image_id}").status_code == 404


def test_the_key_goes_with_the_image_that_owns_it(glance, key_manager, users):
    alice = users["alice"]
    key_id = _store_key(key_manager, alice)
    image = _create(glance, alice, {KEY_ID: key_id, POLICY: "on_image_deletion"})
    assert _key_exists(key_manager, alice, key_id)
    _delete(glance, alice, image["id"])
    assert not _key_exists(key_manager, alice, key_id)


@pytest.mark.parametrize("policy", [None, "do_not_delete"])
def test_the_key_stays_unless_the_policy_says_on_image_deletion(glance, key_manager, users,
                                                                policy):
    alice = users["alice"]
    key_id = _store_key(key_manager, alice)
    properties = {KEY_ID: key_id} if policy is None else {KEY_ID: key_id, POLICY: policy}
    image = _create(glance, alice, properties)
    _delete(glance, alice, image["id"])
    assert _key_exists(key_manager, alice, key_id)


def test_a_key_that_cannot_be_deleted_does_not_stop_the_image_deletion(glance, key_manager,
                                                                        users):
    alice, bob = users["alice"], users["bob"]
    bobs_key = _store_key(key_manager, bob)  # alice's token may not touch it
    for key_id in (bobs_key, str(uuid.uuid4())):  # forbidden; unknown
        image = _create(glance, alice, {KEY_ID: key_id, POLICY: "on_image_deletion"})
        _delete(glance, alice, image["id"])
    assert _key_exists(key_manager, bob, bobs_key)

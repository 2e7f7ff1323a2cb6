"""Signed images over HTTP: glance-api (Keystone auth) checks img_signature against a
certificate kept in a real Barbican, on upload and on glance-direct import."""

import base64
import datetime
import hashlib
import os
import time
import uuid

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from tests.barbican.conftest import store_certificate

DATA = os.urandom(3 * 1024 * 1024 + 123)  # a few chunks, not a multiple of the chunk size
HASHES = {"SHA-256": hashes.SHA256(), "SHA-384": hashes.SHA384(), "SHA-512": hashes.SHA512()}


def _certificate(key) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "glance image signing")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


class Signer:
    """A private key, its certificate in Barbican, and how Glance names its type."""

    def __init__(self, key, key_type: str, certificate_uuid: str) -> None:
        self.key, self.key_type, self.certificate_uuid = key, key_type, certificate_uuid

    def sign(self, data: bytes, hash_method: str = "SHA-256") -> str:
        algorithm = HASHES[hash_method]
        if self.key_type == "RSA-PSS":
            signature = self.key.sign(data, padding.PSS(mgf=padding.MGF1(algorithm),
                                                        salt_length=padding.PSS.MAX_LENGTH),
                                      algorithm)
        else:
            signature = self.key.sign(data, ec.ECDSA(algorithm))
        return base64.b64encode(signature).decode()

    def properties(self, data: bytes, hash_method: str = "SHA-256") -> dict[str, str]:
        return {"img_signature": self.sign(data, hash_method),
                "img_signature_hash_method": hash_method,
                "img_signature_key_type": self.key_type,
                "img_signature_certificate_uuid": self.certificate_uuid}


@pytest.fixture(scope="module")
def rsa_signer(key_manager, users) -> Signer:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return Signer(key, "RSA-PSS",
                  store_certificate(key_manager, users["alice"], _certificate(key)))


@pytest.fixture(scope="module")
def ecc_signer(key_manager, users) -> Signer:
    key = ec.generate_private_key(ec.SECP384R1())
    return Signer(key, "ECC_SECP384R1",
                  store_certificate(key_manager, users["alice"], _certificate(key)))


def _call(glance, user, method: str, path: str, **kwargs) -> requests.Response:
    headers = {"X-Auth-Token": user.token, **kwargs.pop("headers", {})}
    return requests.request(method, glance.url + path, headers=headers, timeout=60,
                            **kwargs)


def _create(glance, user, properties: dict[str, str]) -> dict:
    created = _call(glance, user, "POST", "/v2/images", json={
        "name": "signed", "disk_format": "raw", "container_format": "bare", **properties})
    assert created.status_code == 201, created.text
    return created.json()


def _upload(glance, user, image_id: str, data: bytes = DATA) -> requests.Response:
    return _call(glance, user, "PUT", f"/v2/images/{image_id}/file", data=data,
                 headers={"Content-Type": "application/octet-stream"})


def _files(directory, image_id: str) -> list:
    return sorted(directory.glob(f"**/{image_id}*")) if directory.exists() else []


def _assert_refused_and_clean(glance, user, glance_dirs, image_id: str) -> None:
    image = _call(glance, user, "GET", f"/v2/images/{image_id}").json()
    assert image["status"] == "queued"
    assert image["size"] is None and image["checksum"] is None
    assert image["os_hash_value"] is None and image["locations"] == [] \
        if "locations" in image else True
    assert _files(glance_dirs["images"], image_id) == []
    assert _call(glance, user, "GET", f"/v2/images/{image_id}/file").status_code == 204


# -- upload --------------------------------------------------------------------------------


@pytest.mark.parametrize("signer_name,hash_method", [("rsa_signer", "SHA-256"),
                                                     ("rsa_signer", "SHA-512"),
                                                     ("ecc_signer", "SHA-384")])
def test_good_signature_makes_the_image_active(glance, users, request, signer_name,
                                               hash_method):
    signer = request.getfixturevalue(signer_name)
    alice = users["alice"]
    image = _create(glance, alice, signer.properties(DATA, hash_method))
    response = _upload(glance, alice, image["id"])
    assert response.status_code == 204, response.text
    shown = _call(glance, alice, "GET", f"/v2/images/{image['id']}").json()
    assert shown["status"] == "active"
    assert shown["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    assert _call(glance, alice, "GET", f"/v2/images/{image['id']}/file").content == DATA


def test_wrong_signature_is_refused_and_leaves_no_data(glance, users, rsa_signer,
                                                       glance_dirs):
    alice = users["alice"]
    image = _create(glance, alice, rsa_signer.properties(b"other data"))
    response = _upload(glance, alice, image["id"])
    assert response.status_code == 400, response.text
    assert f"Signature verification failed for image {image['id']}" in response.text
    _assert_refused_and_clean(glance, alice, glance_dirs, image["id"])
    # The same image takes the right data afterwards.
    assert _call(glance, alice, "PATCH", f"/v2/images/{image['id']}", json=[
        {"op": "replace", "path": "/img_signature", "value": rsa_signer.sign(DATA)}],
        headers={"Content-Type": "application/openstack-images-v2.1-json-patch"}
    ).status_code == 200
    assert _upload(glance, alice, image["id"]).status_code == 204


def test_data_changed_after_signing_is_refused(glance, users, ecc_signer, glance_dirs):
    alice = users["alice"]
    image = _create(glance, alice, ecc_signer.properties(DATA, "SHA-384"))
    tampered = DATA[:-1] + bytes([DATA[-1] ^ 1])
    assert _upload(glance, alice, image["id"], tampered).status_code == 400
    _assert_refused_and_clean(glance, alice, glance_dirs, image["id"])


def test_unknown_certificate_is_refused(glance, users, rsa_signer, glance_dirs):
    alice = users["alice"]
    missing = str(uuid.uuid4())
    image = _create(glance, alice, {**rsa_signer.properties(DATA),
                                    "img_signature_certificate_uuid": missing})
    response = _upload(glance, alice, image["id"])
    assert response.status_code == 400, response.text
    assert missing in response.text
    _assert_refused_and_clean(glance, alice, glance_dirs, image["id"])


def test_certificate_of_another_project_is_refused(glance, users, rsa_signer, glance_dirs):
    """Barbican answers bob's token with 403/404 for alice's certificate."""
    bob = users["bob"]
    image = _create(glance, bob, rsa_signer.properties(DATA))
    response = _upload(glance, bob, image["id"])
    assert response.status_code == 400, response.text
    _assert_refused_and_clean(glance, bob, glance_dirs, image["id"])


@pytest.mark.parametrize("change,reason", [
    ({"img_signature_hash_method": "MD5"}, "Invalid signature hash method: MD5"),
    ({"img_signature_key_type": "RSA-PKCS1"}, "Invalid signature key type: RSA-PKCS1"),
    ({"img_signature_key_type": "ECC_SECP384R1"},
     "Invalid public key type for signature key type: ECC_SECP384R1"),
    ({"img_signature": "abc"}, "not properly encoded using base64"),
])
def test_unusable_signature_properties_fail_the_upload(glance, users, rsa_signer,
                                                       glance_dirs, change, reason):
    """Glance does not check these properties at create or PATCH (201 here): the
    upload fails with 400 and the reason."""
    alice = users["alice"]
    image = _create(glance, alice, {**rsa_signer.properties(DATA), **change})
    response = _upload(glance, alice, image["id"])
    assert response.status_code == 400, response.text
    assert reason in response.text
    _assert_refused_and_clean(glance, alice, glance_dirs, image["id"])


def test_without_all_four_properties_nothing_is_verified(glance, users, rsa_signer):
    alice = users["alice"]
    properties = rsa_signer.properties(b"not this data")
    del properties["img_signature_certificate_uuid"]
    image = _create(glance, alice, properties)
    assert _upload(glance, alice, image["id"]).status_code == 204


# -- glance-direct import ------------------------------------------------------------------


def _stage_and_import(glance, user, image_id: str) -> dict:
    staged = _call(glance, user, "PUT", f"/v2/images/{image_id}/stage", data=DATA,
                   headers={"Content-Type": "application/octet-stream"})
    assert staged.status_code == 204, staged.text
    started = _call(glance, user, "POST", f"/v2/images/{image_id}/import",
                    json={"method": {"name": "glance-direct"}})
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        image = _call(glance, user, "GET", f"/v2/images/{image_id}").json()
        if image["status"] not in ("importing", "uploading"):
            return image
        time.sleep(0.2)
    raise AssertionError(f"import of {image_id} did not end: {image}")


def _import_task(glance, user, image_id: str) -> dict:
    tasks = _call(glance, user, "GET", f"/v2/images/{image_id}/tasks").json()["tasks"]
    return tasks[-1]


def test_import_with_good_signature_is_active(glance, users, ecc_signer, glance_dirs):
    alice = users["alice"]
    image = _create(glance, alice, ecc_signer.properties(DATA, "SHA-512"))
    done = _stage_and_import(glance, alice, image["id"])
    assert done["status"] == "active", done
    assert _call(glance, alice, "GET", f"/v2/images/{image['id']}/file").content == DATA
    assert _files(glance_dirs["staging"], image["id"]) == []


@pytest.mark.parametrize("bad", ["signature", "certificate"])
def test_import_with_bad_signature_fails_and_leaves_no_data(glance, users, rsa_signer,
                                                            glance_dirs, bad):
    alice = users["alice"]
    properties = rsa_signer.properties(b"other data")
    if bad == "certificate":
        properties = {**rsa_signer.properties(DATA),
                      "img_signature_certificate_uuid": str(uuid.uuid4())}
    image = _create(glance, alice, properties)
    done = _stage_and_import(glance, alice, image["id"])
    assert done["status"] == "queued", done
    assert done["size"] is None and done["checksum"] is None
    assert "os_glance_failed_import" in done
    assert _files(glance_dirs["images"], image["id"]) == []
    assert _files(glance_dirs["staging"], image["id"]) == []
    task = _import_task(glance, alice, image["id"])
    assert task["status"] == "failure"
    assert "Signature verification failed" in task["message"], task

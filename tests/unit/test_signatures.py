"""glance.signatures: which images are verified, the stream check, and the 400s of
unusable properties (cursive with real keys; the key manager itself is the
tests/barbican tier's)."""

import base64
import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cursive import signature_utils

from glance import exception, signatures

DATA = os.urandom(200_000)
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH)


def _signature(data: bytes = DATA) -> signatures.Signature:
    return signatures.Signature("image-1", KEY.sign(data, PSS, hashes.SHA256()),
                                hashes.SHA256(),
                                signature_utils.SignatureKeyType.lookup("RSA-PSS"),
                                KEY.public_key())


def _chunks(data: bytes = DATA, size: int = 65536):
    return [data[i:i + size] for i in range(0, len(data), size)]


def test_only_all_four_properties_ask_for_verification():
    props = dict.fromkeys(signatures.PROPERTIES, "x")
    assert signatures.requested(props)
    for name in signatures.PROPERTIES:
        assert not signatures.requested({k: v for k, v in props.items() if k != name})
    assert not signatures.requested(None)
    assert signatures.prepare(None, "image-1", {"img_signature": "x"}) is None


def test_good_data_streams_through_unchanged():
    stream = _signature().stream(_chunks())
    assert b"".join(stream) == DATA
    stream.finish()  # already checked: no second verify


def test_a_bad_signature_fails_when_the_data_ends():
    stream = _signature(b"other").stream(_chunks())
    consumed = []
    with pytest.raises(exception.SignatureVerificationFailed) as err:
        for chunk in stream:
            consumed.append(chunk)
    assert b"".join(consumed) == DATA  # raised after the last chunk, before the end
    assert err.value.code == 400
    assert str(err.value) == ("Signature verification failed for image image-1: "
                              "Signature verification failed")


def test_finish_checks_a_stream_read_only_to_its_size():
    stream = _signature().stream(_chunks())
    iterator = iter(stream)
    for _ in range(len(_chunks())):
        next(iterator)  # a store that stops at the expected size
    stream.finish()
    tampered = _signature().stream(_chunks(DATA[:-1] + b"\0"))
    iterator = iter(tampered)
    for _ in range(len(_chunks())):
        next(iterator)
    with pytest.raises(exception.SignatureVerificationFailed):
        tampered.finish()


@pytest.mark.parametrize("change,reason", [
    ({"img_signature_hash_method": "MD5"}, "Invalid signature hash method: MD5"),
    ({"img_signature_key_type": "RSA"}, "Invalid signature key type: RSA"),
    ({"img_signature": "abc"}, "The signature data was not properly encoded using base64"),
])
def test_unusable_properties_are_400_before_the_key_manager(change, reason):
    props = {"img_signature": base64.b64encode(b"sig").decode(),
             "img_signature_hash_method": "SHA-256", "img_signature_key_type": "RSA-PSS",
             "img_signature_certificate_uuid": "c0ffee", **change}
    with pytest.raises(exception.SignatureVerificationFailed) as err:
        signatures.prepare(None, "image-1", props)  # no context: never reached
    assert str(err.value) == f"Signature verification failed for image image-1: {reason}"

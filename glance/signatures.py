"""Image signature verification, as Glance does it: cursive checks the data against
``img_signature`` with the public key of a certificate kept in the key manager
(castellan, ``[key_manager]`` / ``[barbican]``).

An image is verified when it has all four properties (:data:`PROPERTIES`); with
any of them missing nothing is checked. :func:`prepare` decodes the signature and
fetches the certificate with the requester's token before any data moves; each
store write then runs its chunks through :meth:`Signature.stream`, which checks
the signature when the data ends — before the store finishes the write, so a bad
signature leaves nothing behind — and :meth:`VerifyingStream.finish` checks it
for a store that stops reading at the expected size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from castellan.common import exception as castellan_exception
from cryptography import exceptions as crypto_exceptions
from cursive import exception as cursive_exception
from cursive import signature_utils
from oslo_log import log as logging

from glance import exception

LOG = logging.getLogger(__name__)
SIGNATURE = signature_utils.SIGNATURE
HASH_METHOD = signature_utils.HASH_METHOD
KEY_TYPE = signature_utils.KEY_TYPE
CERT_UUID = signature_utils.CERT_UUID
PROPERTIES = (SIGNATURE, HASH_METHOD, KEY_TYPE, CERT_UUID)


def requested(properties: dict[str, Any] | None) -> bool:
    """Whether ``properties`` ask for verification (all four are present)."""
    return bool(signature_utils.should_create_verifier(properties or {}))


def _reason(err: BaseException) -> str:
    """cursive's reason without its 'Signature verification ... failed:' prefix."""
    kwargs = getattr(err, "kwargs", None)
    reason = kwargs.get("reason") if isinstance(kwargs, dict) else None
    return str(reason or err).rstrip(".")


@dataclass
class Signature:
    """A decoded signature and the public key it must verify with."""

    image_id: str
    signature: bytes
    hash_method: Any
    key_type: Any
    public_key: Any

    def stream(self, chunks: Iterable[bytes]) -> VerifyingStream:
        """``chunks``, verified as they pass (one verifier per stream)."""
        verifier = self.key_type.create_verifier(self.signature, self.hash_method,
                                                 self.public_key)
        if verifier is None:
            raise exception.SignatureVerificationFailed(
                image_id=self.image_id, reason="the verifier could not be created")
        return VerifyingStream(self.image_id, chunks, verifier)


class VerifyingStream:
    """Iterates ``chunks``; at their end raises SignatureVerificationFailed when the
    signature does not match (the consumer — a store write — then fails)."""

    def __init__(self, image_id: str, chunks: Iterable[bytes], verifier) -> None:
        self.image_id = image_id
        self._chunks = chunks
        self._verifier = verifier
        self._checked = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            if chunk:
                self._verifier.update(chunk)
            yield chunk
        self.finish()

    def finish(self) -> None:
        """Check the signature over what went through (once; later calls no-op)."""
        if self._checked:
            return
        self._checked = True
        try:
            self._verifier.verify()
        except crypto_exceptions.InvalidSignature as err:
            LOG.warning("Signature verification failed for image %s", self.image_id)
            raise exception.SignatureVerificationFailed(
                image_id=self.image_id, reason="Signature verification failed") from err
        LOG.info("Successfully verified signature for image %s", self.image_id)


def prepare(context, image_id: str, properties: dict[str, Any] | None) -> Signature | None:
    """The signature of an image that asks for verification, else None.

    Raises SignatureVerificationFailed (400) when the signature is not base64, the
    hash method or key type is not one cursive knows, or the certificate cannot be
    had from the key manager (unknown id, no token, key manager unreachable) or
    holds a key of another type.
    """
    if not requested(properties):
        return None
    props = properties or {}
    try:
        signature = signature_utils.get_signature(props[SIGNATURE])
        hash_method = signature_utils.get_hash_method(props[HASH_METHOD])
        key_type = signature_utils.SignatureKeyType.lookup(props[KEY_TYPE])
        public_key = signature_utils.get_public_key(context, props[CERT_UUID], key_type)
    except cursive_exception.SignatureVerificationError as err:
        raise exception.SignatureVerificationFailed(image_id=image_id,
                                                    reason=_reason(err)) from err
    except castellan_exception.CastellanException as err:
        # castellan refuses a context without a token before asking Barbican.
        LOG.warning("Key manager refused the certificate of image %s: %s", image_id, err)
        raise exception.SignatureVerificationFailed(
            image_id=image_id,
            reason=f"Unable to retrieve certificate with ID: {props[CERT_UUID]}") from err
    except ValueError as err:  # a certificate that is not X.509 DER/PEM
        raise exception.SignatureVerificationFailed(
            image_id=image_id, reason=f"Invalid certificate: {err}") from err
    return Signature(image_id, signature, hash_method, key_type, public_key)

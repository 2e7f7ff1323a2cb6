"""Cinder's encryption keys of images: deleted with the image when it says so.

An image Cinder uploads from an encrypted volume carries the id of the volume's
key in the key manager (``cinder_encryption_key_id``). With
``cinder_encryption_key_deletion_policy = on_image_deletion`` (Cinder sets it
when the key was made for this image) deleting the image deletes the key too,
with the caller's credentials, through castellan (``[key_manager]``,
``[barbican]``), as Glance does. A key that cannot be deleted (not allowed,
gone, key manager unreachable) is logged and the image is deleted all the same.
"""

from typing import Any

from castellan import key_manager
from castellan.common import exception as castellan_exception
from oslo_config import cfg
from oslo_log import log as logging

from glance.conf import validate

CONF = cfg.CONF
LOG = logging.getLogger(__name__)
KEY_ID = "cinder_encryption_key_id"
DELETION_POLICY = "cinder_encryption_key_deletion_policy"
ON_IMAGE_DELETION = "on_image_deletion"


class EncryptionKeys:
    """Deletes the encryption key an image owns when the image is deleted."""

    def __init__(self, manager: Any = None) -> None:
        if manager is None:
            # Built once, at start-up as in Glance ([key_manager] backend is checked
            # here, and castellan registers [key_manager] fixed_key).
            try:
                manager = key_manager.API(CONF)
            except Exception as err:  # noqa: BLE001 - stevedore/import errors of any kind
                raise validate.ConfigError(
                    f"[key_manager] backend = {CONF.key_manager.backend}: cannot load this "
                    f"key manager: {validate.one_line(err)}") from None
        self._manager = manager

    def image_deleted(self, context, image_id: str, properties: dict[str, Any]) -> None:
        """Delete the key of a deleted image whose deletion policy asks for it."""
        key_id = properties.get(KEY_ID)
        if not key_id or properties.get(DELETION_POLICY) != ON_IMAGE_DELETION:
            return
        try:
            self._manager.delete(context, key_id)
        except castellan_exception.Forbidden:
            LOG.warning("Image %s: not allowed to delete encryption key %s", image_id, key_id)
        except (castellan_exception.ManagedObjectNotFoundError, KeyError):
            LOG.warning("Image %s: encryption key %s not found", image_id, key_id)
        except castellan_exception.KeyManagerError as err:
            LOG.warning("Image %s: could not delete encryption key %s: %s", image_id,
                        key_id, err)
        else:
            LOG.info("Image %s: deleted its encryption key %s", image_id, key_id)

"""Image data use cases: upload, download, deactivate/reactivate, data removal on delete.

Upload moves an image ``queued`` -> ``saving`` -> ``active`` with compare-and-set
writes, so two uploads (or an upload and a delete) never both win. Every failure
after ``saving`` removes whatever reached the store and puts the image back to
``queued``.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from glance import exception, format_inspection, notifier, policy, quota
from glance import store as image_store
from glance.db.sqlalchemy import api as db_api
from glance.domain import image as domain
from glance.services import images as image_service
from glance.services import upload_recovery

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


@dataclass
class Download:
    """What a download serves: the image and the location holding its data (or None)."""

    image: domain.Image
    location: dict[str, Any] | None


class _Stream:
    """The request body as the store sees it: counted and limited."""

    def __init__(self, chunks: Iterable[bytes], limit: quota.UploadLimit) -> None:
        self._chunks = chunks
        self._limit = limit
        self.received = 0

    def __iter__(self) -> Iterator[bytes]:
        maximum = self._limit.maximum
        chunks = iter(self._chunks)
        while True:
            try:
                chunk = next(chunks, None)
            except exception.GlanceException:
                raise
            except Exception as err:  # noqa: BLE001 - whatever the server raises
                raise exception.ClientDisconnected() from err
            if chunk is None:
                return
            self.received += len(chunk)
            if self.received > maximum:
                self._limit.check(self.received)
            yield chunk


class ImageDataService:
    """Image data operations, with policy, quotas and status rules applied."""

    def __init__(self, db=db_api, enforcer=policy, store=image_store,
                 images: image_service.ImageService | None = None) -> None:
        self.db = db
        self.policy = enforcer
        self.store = store
        self.images = images or image_service.ImageService(db, enforcer)

    def _authorized_image(self, context, image_id: str, action: str) -> domain.Image:
        image = self.images.get(context, image_id)
        self.policy.authorize(context, action, image_service.policy_target(context, image))
        return image

    # -- upload -------------------------------------------------------------------------

    def upload(self, context, image_id: str, chunks: Iterable[bytes], size: int | None,
               backend: str | None = None) -> domain.Image:
        """Store the data of a queued image and make it active."""
        image = self._authorized_image(context, image_id, "upload_image")
        if image.status == "saving" and upload_recovery.recover(image_id=image_id, wait=0):
            # A dead process's upload of it was just reset: this one may go ahead.
            image = self._authorized_image(context, image_id, "upload_image")
        domain.check_transition(image.status, "saving")
        domain.check_formats(image)
        used = (self.db.owner_storage_usage(image.owner, image.id)
                if quota.storage_quota() > 0 else None)
        limit = quota.upload_limit(used)
        if size is not None:
            limit.check(size)
        with upload_recovery.tracked(image_id, backend):
            return self._save(context, image, chunks, size, backend, limit)

    def _save(self, context, image: domain.Image, chunks: Iterable[bytes],
              size: int | None, backend: str | None,
              limit: quota.UploadLimit) -> domain.Image:
        """queued -> saving -> (store) -> active; any failure back to queued."""
        image_id = image.id
        self.db.image_update(context, image_id, {"status": "saving"},
                             expected_status="queued")
        notifier.preparing(context, image, backend)
        stream = _Stream(chunks, limit)
        inspected = format_inspection.inspect_stream(stream, image.disk_format,
                                                     image.container_format)
        try:
            stored = self.store.add(image_id, inspected, size, CONF.hashing_algorithm,
                                    backend=backend, context=context)
        except BaseException as err:
            self._restore(context, image_id)
            notifier.upload_failed(context, image_id, err)
            raise
        values = {"status": "active", "size": stored.size, "checksum": stored.checksum,
                  "os_hash_algo": CONF.hashing_algorithm,
                  "os_hash_value": stored.os_hash_value,
                  "virtual_size": inspected.virtual_size(stored.size)}
        location = {"url": stored.url, "metadata": stored.metadata}
        try:
            self.db.image_activate_with_location(context, image_id, values, stored.url,
                                                 stored.metadata)
        except exception.ImageNotFound as err:
            self.store.delete(location, context=context)
            raise exception.ImageGone(image_id=image_id) from err
        except BaseException:
            self.store.delete(location, context=context)
            self._restore(context, image_id)
            raise
        return notifier.uploaded(context, self.images.get(context, image_id))

    def _restore(self, context, image_id: str) -> None:
        """Put an image whose upload failed back to ``queued`` (if still ``saving``)."""
        try:
            self.db.image_update(context, image_id, {"status": "queued"},
                                 expected_status="saving")
        except exception.GlanceException as err:
            LOG.info("Image %s not restored to queued after a failed upload: %s",
                     image_id, err)

    # -- download -----------------------------------------------------------------------

    def download(self, context, image_id: str) -> Download:
        """The image and its data's location; no location means no data (204)."""
        image = self._authorized_image(context, image_id, "download_image")
        if image.status == "deactivated" and not context.is_admin:
            raise exception.ImageDeactivated()
        if image.status not in ("active", "deactivated"):
            return Download(image, None)
        locations = [loc for loc in image.locations if loc.get("status") == "active"]
        return Download(image, locations[0] if locations else None)

    def read(self, location: dict[str, Any], offset: int = 0,
             length: int | None = None, context=None) -> Iterator[bytes]:
        """Chunks of a location's data (store access for the controller)."""
        return self.store.get(location, offset=offset, length=length, context=context)

    def supports_ranges(self, location: dict[str, Any]) -> bool:
        """Whether the location's store can serve a byte range."""
        return self.store.supports_ranges(location)

    def local_path(self, location: dict[str, Any]) -> str | None:
        """The local file behind a location, if any."""
        return self.store.local_path(location)

    # -- actions ------------------------------------------------------------------------

    def deactivate(self, context, image_id: str) -> None:
        """active -> deactivated (idempotent)."""
        self._switch(context, image_id, "deactivate", "active", "deactivated")

    def reactivate(self, context, image_id: str) -> None:
        """deactivated -> active (idempotent)."""
        self._switch(context, image_id, "reactivate", "deactivated", "active")

    def _switch(self, context, image_id: str, action: str, source: str,
                target: str) -> None:
        image = self._authorized_image(context, image_id, action)
        if image.status == target:
            return
        if image.status != source:
            raise exception.ActionNotAllowed(action=action, status=image.status)
        domain.check_transition(source, target)
        notifier.image(context, "image.update", self.db.image_update(
            context, image_id, {"status": target}, expected_status=source))

    # -- delete -------------------------------------------------------------------------

    def remove_data(self, image: domain.Image, context=None) -> None:
        """After a soft delete: drop the data, or leave it for the scrubber."""
        locations = [loc for loc in image.locations if loc.get("status") == "active"]
        if not locations:
            return
        if CONF.delayed_delete:
            self.db.image_mark_pending_delete(image.id)
            return
        for location in locations:
            self.store.delete(location, context=context)
        self.db.image_locations_mark_deleted(image.id)

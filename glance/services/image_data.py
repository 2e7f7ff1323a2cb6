"""Image data use cases: upload, download, deactivate/reactivate.

Upload moves an image ``queued`` -> ``saving`` -> ``active`` with compare-and-set
writes, so two uploads (or an upload and a delete) never both win. Every failure
after ``saving`` removes whatever reached the store and puts the image back to
``queued``.
"""

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from oslo_config import cfg
from oslo_log import log as logging

from glance import (
    exception,
    format_inspection,
    image_cache,
    keystone_limits,
    notifier,
    quota,
    signatures,
)
from glance import store as image_store
from glance.domain import image as domain
from glance.services import access, peer_recovery, upload_recovery

CONF = cfg.CONF
LOG = logging.getLogger(__name__)
READ_CHUNK = 1024 * 1024

# Chunks of the image data from ``offset``, ``length`` bytes (None: to the end).
Reader = Callable[[int, int | None], Iterator[bytes]]


@dataclass
class Download:
    """What a download sends.

    ``read`` is None when the image has no data (204). ``local_file`` is an open
    file holding the whole image (this node's cache or a file-store file) that the
    server may send as it is; ``close`` releases what the download holds (the file,
    the ``image.send`` meter) and must be called once the response is done.
    ``ranges_supported`` says whether ``read`` can start past 0.
    """

    image: domain.Image
    read: Reader | None = None
    close: Callable[[], None] | None = None
    local_file: BinaryIO | None = None
    ranges_supported: bool = True


def _file_reader(handle: BinaryIO) -> Reader:
    def read(offset: int, length: int | None) -> Iterator[bytes]:
        remaining = length
        while remaining is None or remaining > 0:
            size = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
            chunk = os.pread(handle.fileno(), size, offset)
            if not chunk:
                return
            offset += len(chunk)
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk
    return read


def _close(chunks: Iterator[bytes]) -> None:
    """Release a store read that will not be iterated (any that has ``close``)."""
    close = getattr(chunks, "close", None)
    if close is not None:
        close()


def _closing(*closers: Callable[[], None]) -> Callable[[], None]:
    """One close callback calling each of ``closers``."""
    def close() -> None:
        for closer in closers:
            closer()
    return close


class ImageDataService:
    """Image data operations, with policy, quotas and status rules applied."""

    def __init__(self, db, access_: access.ImageAccess, store=image_store,
                 cache=image_cache,
                 limits: keystone_limits.KeystoneLimits | None = None) -> None:
        self.db = db
        self.limits = limits or keystone_limits.KeystoneLimits()
        self.access = access_
        self.store = store
        self.cache = cache

    # -- upload -------------------------------------------------------------------------

    def upload(self, context, image_id: str, chunks: Iterable[bytes], size: int | None,
               backend: str | None = None) -> domain.Image:
        """Store the data of a queued image and make it active."""
        image = self.access.authorized(context, image_id, "upload_image")
        if image.status == "saving" and (upload_recovery.recover(image_id=image_id, wait=0)
                                         or peer_recovery.recover(image_id)):
            # A dead process's upload of it was just reset: this one may go ahead.
            image = self.access.authorized(context, image_id, "upload_image")
        domain.check_transition(image.status, "saving")
        domain.check_formats(image)
        used = (self.db.owner_storage_usage(image.owner, image.id)
                if quota.storage_quota() > 0 else None)
        limit = quota.upload_limit(used)
        project = self.limits.project(context.owner)
        if project is not None:  # Keystone limits: the caller's project, as Glance
            project.add_budget(limit, keystone_limits.SIZE_TOTAL, size)
        if size is not None:
            limit.check(size)
        # The certificate is fetched before any data moves (400 when it cannot be).
        signature = signatures.prepare(context, image.id, image.extra)
        with upload_recovery.tracked(image_id, backend):
            return self._save(context, image, chunks, size, backend, limit, project,
                              signature)

    def _save(self, context, image: domain.Image, chunks: Iterable[bytes],
              size: int | None, backend: str | None, limit: quota.UploadLimit,
              project: keystone_limits.ProjectLimits | None = None,
              signature: signatures.Signature | None = None) -> domain.Image:
        """queued -> saving -> (store) -> active; any failure back to queued."""
        image_id = image.id
        access.check_mutable(context, image.owner)
        # The other nodes reset the upload if this node dies (peer_recovery).
        host = peer_recovery.upload_host()
        self.db.image_update(context, image_id, {"status": "saving"},
                             expected_status="queued", upload_host=host)
        if project is not None:  # this upload counts itself, as in Glance
            try:
                project.enforce(keystone_limits.COUNT_UPLOADING)
            except BaseException:
                peer_recovery.unmark(image_id, host)
                self._restore(context, image_id)
                raise
        try:
            return self._write(context, image, chunks, size, backend, limit, project,
                               signature)
        finally:
            peer_recovery.unmark(image_id, host)

    def _write(self, context, image: domain.Image, chunks: Iterable[bytes],
               size: int | None, backend: str | None, limit: quota.UploadLimit,
               project: keystone_limits.ProjectLimits | None = None,
               signature: signatures.Signature | None = None) -> domain.Image:
        image_id = image.id
        notifier.preparing(context, image, backend)
        verified = signature.stream(chunks) if signature else None
        stream = quota.LimitedStream(verified or chunks, limit)
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
            if verified is not None:  # a store that stopped reading at the size
                verified.finish()
            self.db.image_activate_with_location(context, image_id, values, stored.url,
                                                 stored.metadata)
        except exception.ImageNotFound as err:
            self.store.delete(location, context=context)
            raise exception.ImageGone(image_id=image_id) from err
        except BaseException:
            self.store.delete(location, context=context)
            self._restore(context, image_id)
            raise
        return notifier.uploaded(context, self.access.get(context, image_id))

    def _restore(self, context, image_id: str) -> None:
        """Put an image whose upload failed back to ``queued`` (if still ``saving``)."""
        try:
            self.db.image_update(context, image_id, {"status": "queued"},
                                 expected_status="saving")
        except exception.GlanceException as err:
            LOG.info("Image %s not restored to queued after a failed upload: %s",
                     image_id, err)

    # -- download -----------------------------------------------------------------------

    def open_download(self, context, image_id: str, destination_ip: str | None = None,
                      prefer: list[str] | None = None, whole: bool = True) -> Download:
        """What ``GET /v2/images/{id}/file`` sends: this node's cached copy, else the
        file-store file, else a reader of the store; metered for ``image.send``.

        403/404 as ``download_image`` and visibility say; a deactivated image only
        for administrators; an image without data has nothing to read (204). The
        location read is the first by store weight, or with ``prefer`` (store ids,
        ``download_from_store``) the first in one of those stores; when its data
        cannot be read, the next one. ``whole``: no range was asked for.
        """
        image = self.access.authorized(context, image_id, "download_image")
        if image.status == "deactivated" and not context.is_admin:
            raise exception.ImageDeactivated()
        locations = [loc for loc in image.locations if loc.get("status") == "active"]
        if prefer:
            self.access.authorize(context, "download_from_store", image)
            locations = self._preferred_first(locations, prefer)
        if image.status not in ("active", "deactivated") or not locations:
            return Download(image)
        # image.send counts the bytes served, so a metered download is not sent whole.
        cached = self.cache.open_cached(image)
        if cached is not None:
            return self._local_download(context, image, cached, destination_ip)
        # The first location whose data is there, as Glance: a file-store file that is
        # gone, or a store that fails to open, passes on to the next.
        for index, location in enumerate(locations):
            path = self.store.local_path(location)
            if path is None:
                return self._store_download(context, image, locations[index:],
                                            destination_ip, whole)
            try:
                handle = open(path, "rb")  # noqa: SIM115 - closed by the download's close()
            except FileNotFoundError:
                LOG.warning("Image %s: no data at %s, trying its next location", image_id,
                            location["url"])
                continue
            return self._local_download(context, image, handle, destination_ip)
        raise exception.NotFound("The image data could not be found in the store.")

    def _local_download(self, context, image: domain.Image, handle: BinaryIO,
                        destination_ip: str | None) -> Download:
        """A download of an open file holding the whole image."""
        meter = notifier.send_meter(context, image, destination_ip)
        if meter is None:
            return Download(image, _file_reader(handle), handle.close, handle)
        return Download(image, meter.wrap(_file_reader(handle)),
                        _closing(handle.close, meter.close))

    def _store_download(self, context, image: domain.Image,
                        locations: list[dict[str, Any]], destination_ip: str | None,
                        whole: bool) -> Download:
        """A download read from the store of the first location that opens, as
        Glance: one that fails passes the read on to the next. The store is opened
        here, before any header is sent: the whole image (``whole``), else its first
        byte to find a location that answers. When none has the data the answer is
        204, as Glance's; another failure of the last one is its error."""
        store = self.store

        def open_first(candidates: list[dict[str, Any]], offset: int, length: int | None,
                       probe: bool = False) -> tuple[int, Iterator[bytes]]:
            for index, location in enumerate(candidates):
                if probe:  # its first byte, or all of it where it has no ranges
                    length = 1 if store.supports_ranges(location) else None
                try:
                    return index, store.get(location, offset=offset, length=length,
                                            context=context)
                except Exception as err:  # noqa: BLE001 - any store's failure: next one
                    if index == len(candidates) - 1:
                        raise
                    LOG.warning("Image %s: cannot read %s (%s), trying its next location",
                                image.id, location["url"], err)
            raise AssertionError("no location to read")  # candidates is never empty

        try:
            found, chunks = open_first(locations, 0, None, probe=not whole)
        except exception.NotFound:
            LOG.error("Image %s: none of its locations has its data", image.id)
            return Download(image)
        opened = [chunks] if whole else []  # a probe is only there to be closed
        if not whole:
            _close(chunks)
        locations = locations[found:]

        def read(offset: int, length: int | None) -> Iterator[bytes]:
            if opened and offset == 0 and length is None:
                return opened.pop()
            ranged = bool(offset) or length is not None
            usable = [loc for loc in locations
                      if not ranged or store.supports_ranges(loc)] or locations[:1]
            return open_first(usable, offset, length)[1]

        def release() -> None:
            while opened:
                _close(opened.pop())
        read = self.cache.tee(image, read)  # a whole download fills the cache
        ranges_supported = store.supports_ranges(locations[0])
        meter = notifier.send_meter(context, image, destination_ip)
        closers = [release] + ([meter.close] if meter is not None else [])
        return Download(image, read if meter is None else meter.wrap(read),
                        _closing(*closers), ranges_supported=ranges_supported)

    def _preferred_first(self, locations: list[dict[str, Any]],
                         prefer: list[str]) -> list[dict[str, Any]]:
        """The locations in the ``prefer`` stores first (each group keeps its weight
        order), as Glance; 400 for a store that is not configured."""
        if not self.store.is_multi_store():
            raise exception.BadRequest("Store selection for download is not available "
                                       "when multiple backends are not enabled.")
        known = set(self.store.store_ids())
        for store_id in prefer:
            if store_id not in known:
                raise exception.BadRequest(f"Store '{store_id}' is not configured.")
        wanted = set(prefer)

        def preferred(loc: dict[str, Any]) -> bool:
            return (loc.get("metadata") or {}).get("store") in wanted
        return ([loc for loc in locations if preferred(loc)]
                + [loc for loc in locations if not preferred(loc)])

    # -- actions ------------------------------------------------------------------------

    def deactivate(self, context, image_id: str) -> None:
        """active -> deactivated (idempotent)."""
        self._switch(context, image_id, "deactivate", "active", "deactivated")

    def reactivate(self, context, image_id: str) -> None:
        """deactivated -> active (idempotent)."""
        self._switch(context, image_id, "reactivate", "deactivated", "active")

    def _switch(self, context, image_id: str, action: str, source: str,
                target: str) -> None:
        image = self.access.authorized(context, image_id, action)
        if image.status == target:
            return
        if image.status != source:
            raise exception.ActionNotAllowed(action=action, status=image.status)
        domain.check_transition(source, target)
        access.check_mutable(context, image.owner)
        notifier.image(context, "image.update", self.db.image_update(
            context, image_id, {"status": target}, expected_status=source))

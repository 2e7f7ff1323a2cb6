"""The locations API (Images v2.17): ``POST``/``GET /v2/images/{id}/locations`` and
``DELETE /v2/stores/{store_id}/{image_id}``.

``POST`` (queued images; owner or service role) records a location and hashes its
data in the background when ``do_secure_hash`` is on; ``GET`` shows the locations
(service role or admin). The checks every new location passes, and the
JSON-patch on ``/locations``, are ``glance.services.location_patch``'s.
"""

import hashlib
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from glance import exception, quota
from glance import store as image_store
from glance.domain import image as domain
from glance.services import access, background
from glance.services.location_patch import (
    LocationChecker,
    LocationPatch,
    check_validation_data,
    data_size,
    is_service,
    location_item_schema,
    read_data,
)
from glance.services.task_lifecycle import TaskLifecycle

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


# -- the locations API (v2.17) -----------------------------------------------------------

def add_location_schema() -> dict[str, Any]:
    """The body of ``POST /v2/images/{id}/locations``."""
    item = location_item_schema()
    validation_data = dict(item["properties"]["validation_data"])
    validation_data.pop("required", None)  # clients send {} when they have none
    return {"name": "location", "type": "object", "additionalProperties": False,
            "properties": {"url": item["properties"]["url"],
                           "validation_data": validation_data},
            "required": ["url"]}


class LocationService:
    """``POST``/``GET /v2/images/{id}/locations``."""

    def __init__(self, db, enforcer, access_: access.ImageAccess, tasks: TaskLifecycle,
                 store=image_store) -> None:
        self.db = db
        self.policy = enforcer
        self.access = access_
        self.tasks = tasks
        self.store = store
        self.checker = LocationChecker(db)

    def list(self, context, image_id: str) -> list[dict[str, Any]]:
        """The image's active locations (url and metadata)."""
        image = self.access.authorized(context, image_id, "fetch_image_location")
        return [{"url": loc["url"], "metadata": loc.get("metadata") or {}}
                for loc in image.locations if loc.get("status") == "active"]

    def delete_from_store(self, context, image_id: str, store_id: str) -> None:
        """``DELETE /v2/stores/{store_id}/{image_id}``: drop one store's copy of an
        active image's data (another store must still hold it)."""
        image = self.access.get(context, image_id)
        target = self.access.authorize(context, "delete_image_location", image)
        if store_id not in self.store.store_ids():
            raise exception.NotFound(f"Unknown store {store_id}.")
        if image.status != "active":
            raise exception.Conflict("It's not allowed to remove image data from store "
                                     f"if image status is {image.status}.")
        patch = LocationPatch(context, image, target, self.db, self.policy, self.store)
        index = next((i for i, loc in enumerate(patch.locations)
                      if loc["metadata"].get("store") == store_id), None)
        if index is None:
            raise exception.NotFound(
                f"Image {image_id} does not have data in store {store_id}.")
        if len(patch.locations) == 1:
            raise exception.Conflict("Cannot delete image data from the only store "
                                     "containing it. Consider deleting the image instead.")
        patch.removed.append(patch.locations.pop(index))
        patch.operations.append("remove")
        access.check_mutable(context, image.owner)
        patch.save({}, None, None)

    def add(self, context, image_id: str, url: str,
            validation_data: dict[str, Any] | None = None) -> None:
        """Check, then record and hash the location of a queued image in the background."""
        image = self.access.authorized(context, image_id, "add_image_location")
        if not (context.is_admin or is_service(context)):
            access.check_mutable(context, image.owner)
        if image.status != "queued":
            raise exception.Conflict(
                f"It's not allowed to add locations if image status is {image.status}.")
        if any(task.status in ("pending", "processing")
               for task in self.tasks.for_image(context, image_id)):
            raise exception.ImageHasActiveTask()
        if any(loc.get("status") == "active" for loc in image.locations):
            raise exception.ImageHasLocation(image_id=image_id)
        scheme = url.split(":", 1)[0].lower()
        if scheme not in ("http", "https") and not (context.is_admin
                                                    or is_service(context)):
            raise exception.NormalUserHttpOnly()
        target = self.checker.resolve(url, image.id)
        claimed = check_validation_data(validation_data, any_algorithm=True)
        task = self.tasks.new_task(context, "location_import",
                                   {"image_id": image_id, "loc_url": url,
                                    "validation_data": validation_data or {}},
                                   image_id=image_id, owner=image.owner)
        self.tasks.submit(task, lambda task: self._run(task, target, claimed))

    def _run(self, task, target: image_store.LocationStore,
             claimed: dict[str, Any]) -> None:
        """Background: size, record, hash, compare, activate (the image stays queued
        on any failure)."""
        context = background.task_context(task)
        image_id = task.image_id
        try:
            domain.check_formats(self.access.get(context, image_id))
            size = data_size(target, context)
            quota.upload_limit(self.db.owner_storage_usage(task.owner, image_id)
                               if quota.storage_quota() > 0 else None).check(size)
            self.db.image_update_with_locations(
                context, image_id, {"size": size},
                [{"url": target.url, "metadata": target.metadata()}],
                expected_status="queued")
            values: dict[str, Any] = {"status": "active", **claimed}
            if CONF.do_secure_hash:
                values.update(self._hash(target, size, context,
                                         claimed.get("os_hash_algo")))
                for name, claim in claimed.items():
                    if values[name] != claim:
                        raise exception.InvalidValidationData(
                            reason=f"{name} {claim} does not match the data's "
                                   f"{values[name]}")
            self.db.image_update(context, image_id, values, expected_status="queued")
        except exception.GlanceException as err:
            LOG.info("Location of image %s not added: %s", image_id, err)
            self.tasks.fail(task.id, str(err))
            return
        self.tasks.succeed(task.id, {"image_id": image_id})

    @staticmethod
    def _hash(target: image_store.LocationStore, size: int, context,
              algo: str | None = None) -> dict[str, Any]:
        """md5 and the os_hash (``algo``: the one the client claimed, else the
        configured one) of the location's data."""
        algo = algo or CONF.hashing_algorithm
        md5 = hashlib.md5(usedforsecurity=False)
        os_hash = hashlib.new(algo)
        read = 0
        for chunk in read_data(target, context):
            md5.update(chunk)
            os_hash.update(chunk)
            read += len(chunk)
            if read > size:
                break
        if read != size:
            raise exception.InvalidLocation(
                reason=f"{target.url} gave {read} bytes, not the {size} announced")
        return {"checksum": md5.hexdigest(), "os_hash_algo": algo,
                "os_hash_value": os_hash.hexdigest()}

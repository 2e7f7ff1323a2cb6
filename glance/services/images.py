"""Image metadata use cases: create, show, list, update (JSON-patch), delete, tags."""

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from glance import exception, image_cache, keystone_limits, notifier, schema
from glance import store as image_store
from glance.db.queries import ImageQuery
from glance.domain import image as domain
from glance.encryption_keys import EncryptionKeys
from glance.property_protection import Protections
from glance.services import access, stage_host
from glance.services.data_removal import DataRemoval
from glance.services.location_patch import LocationPatch

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """One JSON-patch operation, already parsed: ``op`` on ``path`` (pointer parts)."""

    op: str  # add | replace | remove
    path: tuple[str, ...]
    value: Any = None


class ImagePage(list):
    """A page of images; ``full`` when the database returned a whole page."""

    def __init__(self, images: Iterable[domain.Image], full: bool) -> None:
        super().__init__(images)
        self.full = full


def _check_quota(what: str, count: int, maximum: int) -> None:
    if 0 <= maximum < count:
        raise exception.LimitExceeded(what=what, attempted=count, maximum=maximum)


def _check_protection(rules, context, name: str, operation: str) -> None:
    """403 unless the property protections let the caller ``operation`` ``name``."""
    if not rules.allows(context, name, operation):
        raise exception.ReservedProperty(name=name)


def _check_property_change(rules, context, image: domain.Image, change: Change) -> None:
    """The property protections of one JSON-patch change of an additional property.

    As in Glance, a property the caller may not read is absent to them: replacing
    or removing it is 409 (no such property), adding it needs ``create``; a
    readable one needs ``update`` to be set and ``delete`` to be removed.
    """
    name = change.path[0]
    readable = name in image.extra and rules.allows(context, name, "read")
    if change.op == "remove" or (change.op == "replace" and not readable):
        if not readable:
            raise exception.PropertyNotFound(name=name)
        _check_protection(rules, context, name, "delete")
    else:
        _check_protection(rules, context, name, "update" if readable else "create")


class ImageService:
    """Image metadata operations, with policy, quotas and status rules applied."""

    def __init__(self, db, enforcer, access_: access.ImageAccess,
                 data_removal: DataRemoval, protections: Protections,
                 store=image_store,
                 limits: keystone_limits.KeystoneLimits | None = None,
                 encryption_keys: EncryptionKeys | None = None) -> None:
        self.db = db
        self.limits = limits or keystone_limits.KeystoneLimits()
        self.encryption_keys = encryption_keys
        self.policy = enforcer
        self.access = access_
        self.data_removal = data_removal
        self.protections = protections
        self.store = store

    # -- reads --------------------------------------------------------------------------

    def get(self, context, image_id: str) -> domain.Image:
        """An image the caller may see; NotFound otherwise (never Forbidden)."""
        return self.access.get(context, image_id)

    def as_seen_by(self, context, image: domain.Image) -> domain.Image:
        """``image`` without the properties the caller may not read (property
        protections); the image itself when protections are off."""
        rules = self.protections.rules()
        if rules is None or context is None:
            return image
        readable = {name: value for name, value in image.extra.items()
                    if rules.allows(context, name, "read")}
        if len(readable) == len(image.extra):
            return image
        return dataclasses.replace(image, extra=readable)

    def locations_visible(self, context, image: domain.Image) -> bool:
        """Whether the caller may read ``image``'s ``locations`` (only with
        ``show_multiple_locations``, and ``get_image_location`` allowing it)."""
        if not CONF.show_multiple_locations or context is None:
            return CONF.show_multiple_locations
        return self.access.may(context, "get_image_location", image)

    def list(self, context, query: ImageQuery) -> "ImagePage":
        """One page of visible images.

        As in Glance, the database's page is then filtered by ``get_image``, so a
        policy file that narrows who sees an image narrows the listing too; the
        page keeps saying whether the database's page was full (``full``), which
        decides the next-page link.
        """
        self.policy.authorize(context, "get_images", {"project_id": context.project_id})
        records = self.db.image_get_all(context, query)
        images = self.policy.filter_allowed(
            context, "get_image", (domain.Image.from_record(r) for r in records),
            lambda image: access.policy_target(context, image))
        return ImagePage(images, full=len(records) >= query.limit)

    # -- writes -------------------------------------------------------------------------

    def create(self, context, attributes: dict[str, Any]) -> domain.Image:
        """Create a queued image from the (already schema-valid) request body."""
        attributes = dict(attributes)
        for name in attributes:
            if name != "id":
                domain.check_settable(name)
        if attributes.get("locations"):
            raise exception.ReadonlyProperty(name="locations")
        attributes.pop("locations", None)
        owner = attributes.pop("owner", None) or context.owner
        if owner != context.owner and not context.is_admin:
            raise exception.Forbidden(
                f"You are not permitted to create images owned by '{owner}'.")
        chosen_id = attributes.pop("id", None)
        image = domain.Image(id=chosen_id or domain.new_image_id(), owner=owner)
        for name, value in attributes.items():
            image.set_attribute(name, value)
        target = access.create_target(owner, attributes.get("visibility"))
        self.policy.authorize(context, "add_image", target)
        if chosen_id is not None:
            self.policy.authorize(context, "add_image_with_id", target)
        self._authorize_visibility(context, image, target)
        rules = self.protections.rules()
        if rules is not None:
            for name in image.extra:
                _check_protection(rules, context, name, "create")
        self.limits.enforce(context.owner, keystone_limits.COUNT_TOTAL, 1)
        _check_quota("image properties", len(image.extra), CONF.image_property_quota)
        _check_quota("image tags", len(image.tags), CONF.image_tag_quota)
        if self.db.image_id_taken(image.id):
            raise exception.ImageIdExists(image_id=image.id)
        record = self.db.image_create(image.column_values(), image.extra, image.tags)
        notifier.image(context, "image.create", record)
        return domain.Image.from_record(record)

    def update(self, context, image_id: str, changes: Sequence[Change]) -> domain.Image:
        """Apply JSON-patch changes atomically; the whole patch or nothing."""
        image = self.get(context, image_id)
        if not changes:  # nothing to check or write: the image as it is (as in Glance)
            return image
        target = access.policy_target(context, image)
        # As in Glance: modify_image guards the changes of attributes and properties;
        # a change of /locations is guarded by its own location rule alone.
        if any(change.path[0] != "locations" for change in changes):
            self.policy.authorize(context, "modify_image", target)
        before_visibility, before_owner = image.visibility, image.owner
        before_props, before_tags = len(image.extra), len(image.tags)
        location_patch = LocationPatch(context, image, target, self.db, self.policy,
                                       self.store)
        rules = self.protections.rules()
        for change in changes:
            if change.path[0] == "locations":
                location_patch.apply(change.op, change.path, change.value)
                continue
            if rules is not None and change.path[0] not in schema.BASE_ATTRIBUTES:
                _check_property_change(rules, context, image, change)
            self._apply(image, change)
        if image.owner != before_owner and not context.is_admin:
            raise exception.Forbidden("Only administrators may change an image's owner.")
        if image.visibility != before_visibility:
            # The target is the image before the patch, as when Glance checks it.
            self._authorize_visibility(context, image, target)
        if len(image.extra) > before_props:
            _check_quota("image properties", len(image.extra), CONF.image_property_quota)
        if len(image.tags) > before_tags:
            _check_quota("image tags", len(image.tags), CONF.image_tag_quota)
        values = image.column_values()
        del values["id"]
        access.check_mutable(context, before_owner)
        if location_patch.changed:
            record = location_patch.save(values, image.extra, image.tags)
        else:
            record = self.db.image_update(context, image_id, values,
                                          properties=image.extra, tags=image.tags)
        notifier.image(context, "image.update", record)
        return domain.Image.from_record(record)

    def delete(self, context, image_id: str,
               forward: stage_host.Forward | None = None) -> domain.Image | None:
        """Soft-delete an image (its id stays reserved for ever) and its staged data.

        When the data was staged on another node, the call is handed to that node
        with ``forward`` (None returned); if that node cannot take it (5xx or no
        answer), the image is deleted here and its staged data stays behind there.
        """
        image = self.get(context, image_id)
        target = self.access.authorize(context, "delete_image", image)
        if image.status == "deactivated":
            self.policy.authorize(context, "delete_deactivated_image", target)
        if image.protected:
            raise exception.ProtectedImageDelete(image_id=image_id)
        access.check_mutable(context, image.owner)
        self.data_removal.check_removable(image)
        remote = stage_host.remote_host(image.extra) if forward is not None else None
        if remote is not None and forward is not None:
            try:
                forward(remote)
                return None
            except (exception.StageHostUnavailable, exception.ForwardedError) as err:
                if err.code < 500:
                    raise
                LOG.warning("Image %s: its stage host %s could not delete it (%s); "
                            "deleting it here, the staged data stays there",
                            image_id, remote, err)
        else:
            stage_host.remove_local(image_id)
        deleted = domain.Image.from_record(self.db.image_destroy(context, image_id))
        notifier.image(context, "image.delete", deleted, status="deleted", **notifier.deleted())
        self.data_removal.remove(deleted, context)
        if self.encryption_keys is not None:
            self.encryption_keys.image_deleted(context, image_id, image.extra)
        image_cache.forget(image_id)
        return deleted

    def add_tag(self, context, image_id: str, tag: str) -> None:
        """Add one tag (idempotent)."""
        image = self.access.authorized(context, image_id, "modify_image")
        access.check_mutable(context, image.owner)
        self.db.image_tag_add(context, image_id, tag, CONF.image_tag_quota)
        notifier.notify(context, "image.update", lambda: notifier.image_payload(
            self.db.image_get(context, image_id)))

    def delete_tag(self, context, image_id: str, tag: str) -> None:
        """Remove one tag; NotFound when absent."""
        image = self.access.authorized(context, image_id, "modify_image")
        access.check_mutable(context, image.owner)
        self.db.image_tag_delete(context, image_id, tag)
        notifier.notify(context, "image.update", lambda: notifier.image_payload(
            self.db.image_get(context, image_id)))

    # -- helpers ------------------------------------------------------------------------

    def _authorize_visibility(self, context, image: domain.Image, target: dict) -> None:
        if image.visibility == "public":
            self.policy.authorize(context, "publicize_image", target)
        elif image.visibility == "community":
            self.policy.authorize(context, "communitize_image", target)

    @staticmethod
    def _apply(image: domain.Image, change: Change) -> None:
        name = change.path[0]
        if change.op == "remove":
            image.remove_attribute(name)
        elif change.op == "replace" and not image.has_attribute(name):
            domain.check_settable(name)
            raise exception.PropertyNotFound(name=name)
        else:
            image.set_attribute(name, change.value)

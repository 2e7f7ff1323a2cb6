"""What happens to an image's data once the image is deleted: removed from its
stores at once, or (``[DEFAULT] delayed_delete``) left for the scrubber."""

from oslo_config import cfg

from glance import exception
from glance.domain import image as domain

CONF = cfg.CONF


class DataRemoval:
    """Drops the data of deleted images."""

    def __init__(self, db, store) -> None:
        self.db = db
        self.store = store

    def check_removable(self, image: domain.Image) -> None:
        """409, as Glance answers, when data that would be removed at once is still in
        use by the store (an RBD snapshot with clones: Cinder volumes, Nova disks)."""
        if CONF.delayed_delete:
            return
        for location in image.locations:
            if location.get("status") != "active":
                continue
            users = self.store.in_use_by(location)
            if users:
                raise exception.Conflict(
                    f"Image {image.id} could not be deleted because it is in use: "
                    f"the image has clones ({', '.join(users)})")

    def remove(self, image: domain.Image, context=None) -> None:
        """After a soft delete: drop the data, or mark it for the scrubber."""
        locations = [loc for loc in image.locations if loc.get("status") == "active"]
        if not locations:
            return
        if CONF.delayed_delete:
            self.db.image_mark_pending_delete(image.id)
            return
        for location in locations:
            self.store.delete(location, context=context)
        self.db.image_locations_mark_deleted(image.id)

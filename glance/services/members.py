"""Image sharing use cases: add, list, show, change status of, and remove members.

Rules (Glance's): only ``shared`` images have members; the image's owner adds
and removes them; only the member project itself changes its status
(pending -> accepted / rejected, and back). A project that cannot see the image
gets 404, never 403; a member project sees only its own membership.
The member rules are checked against the image's policy target, as in Glance
(``member_id`` is the calling member project); which membership a call is about
is checked here, in code.
"""

from typing import Any

from oslo_config import cfg

from glance import exception, notifier
from glance.domain import image as domain
from glance.services.access import ImageAccess

CONF = cfg.CONF
MEMBER_STATUSES = ("pending", "accepted", "rejected")


def _only_shared(image: domain.Image, verb: str) -> None:
    if image.visibility != "shared":
        raise exception.Forbidden(f"Not allowed to {verb} members for image {image.id}. "
                                  "Only shared images have members.")


class MemberService:
    """Membership operations with visibility, policy, quota and status rules applied."""

    def __init__(self, db, access: ImageAccess) -> None:
        self.db = db
        self.access = access

    def _is_owner(self, context, image: domain.Image) -> bool:
        return context.is_admin or (context.owner is not None
                                    and image.owner == context.owner)

    def _owner_only(self, context, image: domain.Image, verb: str) -> None:
        """A floor under the policy: whatever the policy file says, only the
        owning project (or an administrator) adds and removes members."""
        if not self._is_owner(context, image):
            raise exception.Forbidden(f"Not allowed to {verb} members for image "
                                      f"{image.id}: only its owner may.")

    def create(self, context, image_id: str, member_id: str) -> dict[str, Any]:
        """Share a visible image the caller owns with ``member_id`` (status pending)."""
        image = self.access.authorized(context, image_id, "add_member")
        _only_shared(image, "create")
        self._owner_only(context, image, "create")
        member = self.db.image_member_create(image.id, member_id,
                                             CONF.image_member_quota)
        notifier.notify(context, "image.member.create", notifier.member_payload(member))
        return member

    def list(self, context, image_id: str) -> list[dict[str, Any]]:
        """All members for the owner (and admins); a member only sees itself."""
        image = self.access.get(context, image_id)
        target = self.access.authorize(context, "get_members", image)
        _only_shared(image, "list")
        if self._is_owner(context, image):
            members = self.db.image_member_find(image.id)
        else:
            members = (self.db.image_member_find(image.id, context.owner)
                       if context.owner else [])
        # As in Glance, each membership listed is also checked with get_member.
        return self.access.policy.filter_allowed(context, "get_member", members,
                                          lambda _member: target)

    def get(self, context, image_id: str, member_id: str) -> dict[str, Any]:
        """One membership; 404 when absent or when the caller may not see it."""
        image = self.access.get(context, image_id)
        try:
            self.access.authorize(context, "get_member", image)
            if not self._is_owner(context, image) and member_id != context.owner:
                raise exception.Forbidden()
        except exception.Forbidden as err:  # a foreign scope too: 404, as for get()
            raise exception.NotFound(f"{member_id} not found in the member list of the "
                                     f"image {image_id}.") from err
        _only_shared(image, "show")
        return self.db.image_member_get(image.id, member_id)

    def update(self, context, image_id: str, member_id: str, status: str) -> dict[str, Any]:
        """The member project accepts, rejects or resets its membership."""
        if status not in MEMBER_STATUSES:
            raise exception.BadRequest('Status must be "pending", "accepted" or '
                                       '"rejected".')
        image = self.access.authorized(context, image_id, "modify_member")
        _only_shared(image, "update")
        if not context.is_admin and member_id != context.owner:
            raise exception.Forbidden("Only the member project may change the status of "
                                      "its membership.")
        member = self.db.image_member_update(image.id, member_id, status)
        notifier.notify(context, "image.member.update", notifier.member_payload(member))
        return member

    def delete(self, context, image_id: str, member_id: str) -> None:
        """The owner stops sharing the image with ``member_id``."""
        image = self.access.authorized(context, image_id, "delete_member")
        _only_shared(image, "delete")
        self._owner_only(context, image, "delete")
        member = self.db.image_member_get(image.id, member_id)
        self.db.image_member_delete(image.id, member_id)
        notifier.notify(context, "image.member.delete", notifier.member_payload(
            member, **notifier.deleted()))

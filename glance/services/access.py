"""Who may see and change an image: the policy target, the visible-image lookup,
and the ownership floor under the policy.

Every service that acts on an existing image starts here: ``ImageAccess.get``
returns the image if the caller may see it (404 otherwise, never 403), and
``ImageAccess.authorized`` also checks the rule of the action against the
image's policy target. ``check_mutable`` is the floor a permissive policy file
cannot lower: only administrators and the owning project change an image.
"""

from typing import Any

from glance import exception
from glance.domain import image as domain

# The image attributes a policy check string may name, as Glance's image target has
# them (``locations`` is left out, as there).
_TARGET_ATTRIBUTES = ("name", "status", "visibility", "protected", "os_hidden", "owner",
                      "disk_format", "container_format", "size", "virtual_size",
                      "checksum", "os_hash_algo", "os_hash_value", "min_ram", "min_disk",
                      "created_at", "updated_at", "tags")


def image_member(context, image: domain.Image) -> str | None:
    """The caller's project if it reached this shared image as a member, else None."""
    if image.visibility == "shared" and image.owner != context.project_id:
        return context.project_id
    return None


def policy_target(context, image: domain.Image) -> dict[str, Any]:
    """What policy check strings may refer to about an existing image.

    The keys of Glance's image target: every attribute by name, ``id`` and
    ``image_id``, ``project_id`` (= ``owner``), ``member_id`` (= ``member``, see
    :func:`image_member`), every additional property by name, and all of them
    together as ``extra_properties``.
    """
    member = image_member(context, image)
    target: dict[str, Any] = dict(image.extra)
    target.update({name: getattr(image, name) for name in _TARGET_ATTRIBUTES})
    target.update(id=image.id, image_id=image.id, project_id=image.owner, member=member,
                  member_id=member, extra_properties=dict(image.extra))
    return target


def create_target(owner: str | None, visibility: str | None) -> dict[str, Any]:
    """The target of the checks on a create: the new image's owner and visibility
    (``private`` when the request names none), as Glance builds it."""
    return {"project_id": owner, "owner": owner, "visibility": visibility or "private"}


def check_mutable(context, owner: str | None) -> None:
    """Only administrators and the owning project change an image, whatever the policy.

    Policy rules decide who may try; this floor keeps a permissive policy file
    (or ``enforce_new_defaults = False``) from letting a member project, or anyone
    who sees a public image, change or delete someone else's image. Services call
    it just before they write an image on behalf of a caller.
    """
    if context.is_admin:
        return
    if context.owner is None or owner != context.owner:
        raise exception.Forbidden("You do not own this image.")


class ImageAccess:
    """The visible-image lookup and the per-image policy checks every service shares."""

    def __init__(self, db, enforcer) -> None:
        self.db = db
        self.policy = enforcer

    def get(self, context, image_id: str) -> domain.Image:
        """An image the caller may see; NotFound otherwise (never Forbidden).

        A token of a foreign scope (system, domain) also gets NotFound here, as the
        glance-tempest-plugin RBAC tests expect; listing and creating stay 403.
        """
        image = domain.Image.from_record(self.db.image_get(context, image_id))
        try:
            self.policy.authorize(context, "get_image", policy_target(context, image))
        except exception.Forbidden as err:
            raise exception.ImageNotFound(image_id=image_id) from err
        return image

    def authorize(self, context, action: str, image: domain.Image) -> dict[str, Any]:
        """Check ``action`` against ``image``'s policy target; returns the target."""
        target = policy_target(context, image)
        self.policy.authorize(context, action, target)
        return target

    def authorized(self, context, image_id: str, action: str) -> domain.Image:
        """A visible image on which the caller may perform ``action``."""
        image = self.get(context, image_id)
        self.authorize(context, action, image)
        return image

    def may(self, context, action: str, image: domain.Image) -> bool:
        """Whether ``action`` on ``image`` is allowed (no exception)."""
        try:
            self.authorize(context, action, image)
        except exception.Forbidden:
            return False
        return True

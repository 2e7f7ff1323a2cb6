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

from glance import exception, hierarchy, notifier
from glance.domain import image as domain
from glance.services.access import ImageAccess

CONF = cfg.CONF
MEMBER_STATUSES = ("pending", "accepted", "rejected")
# Member entry scopes (hierarchical image access); "project" is stored as NULL.
SCOPES = ("project", "subtree", "domain")
_SCOPE_RULES = {"subtree": "add_member_subtree", "domain": "add_member_domain"}
_FIXED_STATUS = ("This membership covers a project {scope}: it is accepted for every "
                 "project it covers, and its status cannot be changed (the image's "
                 "owner may remove it).")


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

    def _check_scope(self, context, image: domain.Image, member_id: str,
                     scope: str) -> None:
        """The rule of a subtree or domain share, and its floor: a non-administrator
        shares only with its own project's subtree, an ancestor's, or its domain."""
        self.access.authorize(context, _SCOPE_RULES[scope], image)
        if context.is_admin:
            return
        lineage = context.project_lineage
        if scope == "subtree":
            allowed = hierarchy.covering_ids(lineage)[0]
            if member_id not in allowed:
                raise exception.Forbidden(
                    f"Not allowed to share image {image.id} with the subtree of "
                    f"{member_id}: only with the subtree of the owner's project or of "
                    "one of its ancestors.")
        elif lineage is None or member_id != lineage.domain_id:
            raise exception.Forbidden(
                f"Not allowed to share image {image.id} with the domain {member_id}: "
                "only with the domain of the owner's project.")

    def create(self, context, image_id: str, member_id: str,
               scope: str | None = None) -> dict[str, Any]:
        """Share a visible image the caller owns with ``member_id`` (status pending),
        or with its subtree or domain (``scope``; status accepted)."""
        if scope is not None and not hierarchy.enabled():
            raise exception.BadRequest("Member scope is not enabled on this cloud "
                                       "([DEFAULT] hierarchical_image_access).")
        if scope is not None and scope not in SCOPES:
            raise exception.BadRequest('Member scope must be "project", "subtree" or '
                                       '"domain".')
        image = self.access.authorized(context, image_id, "add_member")
        _only_shared(image, "create")
        self._owner_only(context, image, "create")
        stored_scope = None if scope in (None, "project") else scope
        if stored_scope:
            self._check_scope(context, image, member_id, stored_scope)
        member = self.db.image_member_create(image.id, member_id,
                                             CONF.image_member_quota, stored_scope)
        notifier.notify(context, "image.member.create", notifier.member_payload(member))
        return member

    def _covering(self, context, image: domain.Image) -> list[dict[str, Any]]:
        """The caller's own member entry and those that cover its project."""
        if not context.owner:
            return []
        return self.db.image_member_find_covering(
            image.id, context.owner, getattr(context, "project_lineage", None))

    def list(self, context, image_id: str) -> list[dict[str, Any]]:
        """All members for the owner (and admins); a member only sees itself."""
        image = self.access.get(context, image_id)
        target = self.access.authorize(context, "get_members", image)
        _only_shared(image, "list")
        if self._is_owner(context, image):
            members = self.db.image_member_find(image.id)
        else:  # its own entry, and the subtree or domain entries that cover it
            members = self._covering(context, image)
        # As in Glance, each membership listed is also checked with get_member.
        return self.access.policy.filter_allowed(context, "get_member", members,
                                          lambda _member: target)

    def get(self, context, image_id: str, member_id: str) -> dict[str, Any]:
        """One membership; 404 when absent or when the caller may not see it."""
        image = self.access.get(context, image_id)
        try:
            self.access.authorize(context, "get_member", image)
            if not self._is_owner(context, image) and member_id != context.owner and \
                    member_id not in {m["member"] for m in self._covering(context, image)}:
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
            covering = {m["member"]: m for m in self._covering(context, image)}
            if covering.get(member_id, {}).get("scope"):
                raise exception.Forbidden(_FIXED_STATUS.format(
                    scope=covering[member_id]["scope"]))
            raise exception.Forbidden("Only the member project may change the status of "
                                      "its membership.")
        current = self.db.image_member_get(image.id, member_id)
        if current.get("scope"):
            raise exception.Forbidden(_FIXED_STATUS.format(scope=current["scope"]))
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

"""Policy rules for image members (sharing).

Targets are the image's (see glance.policies.base): ``project_id`` is the image
owner and ``member_id`` the caller's project when it reached the shared image as
a member. Which membership a call is about is checked in the code: only the
owner adds and removes members, only the member project changes its status.
"""

from glance.policies import base
from glance.policies.base import rule

_MEMBERS = "/v2/images/{image_id}/members"
_MEMBER = _MEMBERS + "/{member_id}"

rules = [
    rule("add_member", base.ADMIN_OR_PROJECT_MEMBER,
         "Share an image with another project (the image's owner only).",
         [("POST", _MEMBERS)]),
    # Hierarchical image access: checked after add_member, on the same target.
    rule("add_member_subtree", "rule:add_member",
         "Share an image with a project subtree (a member entry with scope subtree). "
         "Whatever the rule, a non-administrator shares only with the subtree of its "
         "own project or of one of its ancestors.", [("POST", _MEMBERS)], legacy=False),
    rule("add_member_domain", "rule:add_member",
         "Share an image with every project of a domain (scope domain). Whatever the "
         "rule, a non-administrator shares only with its own project's domain.",
         [("POST", _MEMBERS)], legacy=False),
    rule("delete_member", base.ADMIN_OR_PROJECT_MEMBER,
         "Stop sharing an image with a project (the image's owner only).",
         [("DELETE", _MEMBER)]),
    rule("get_member", base.ADMIN_OR_OWNER_OR_IMAGE_MEMBER_READER,
         "Show one membership (a member project sees only its own).",
         [("GET", _MEMBER)]),
    rule("get_members", base.ADMIN_OR_OWNER_OR_IMAGE_MEMBER_READER,
         "List an image's members. A member project only sees its own membership.",
         [("GET", _MEMBERS)]),
    rule("modify_member", base.ADMIN_OR_IMAGE_MEMBER_MEMBER,
         "Accept, reject or set back to pending a membership (the member project "
         "only).", [("PUT", _MEMBER)]),
]


def list_rules() -> list:
    """Member rules."""
    return rules

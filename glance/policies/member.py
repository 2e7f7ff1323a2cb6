"""Policy rules for image members (sharing).

Targets: ``project_id`` is the image owner; ``member_id`` is the member project
the call is about (for a list, the caller's project when it is a member).
"""

from glance.policies import base
from glance.policies.base import rule

_MEMBERS = "/v2/images/{image_id}/members"
_MEMBER = _MEMBERS + "/{member_id}"

rules = [
    rule("add_member", base.ADMIN_OR_PROJECT_MEMBER,
         "Share an image with another project (the image's owner only).",
         [("POST", _MEMBERS)]),
    rule("get_members", base.ADMIN_OR_OWNER_OR_IMAGE_MEMBER_READER,
         "List an image's members. A member project only sees its own membership.",
         [("GET", _MEMBERS)]),
    rule("get_member", base.ADMIN_OR_OWNER_OR_IMAGE_MEMBER_READER,
         "Show one membership.", [("GET", _MEMBER)]),
    rule("modify_member", base.ADMIN_OR_IMAGE_MEMBER_MEMBER,
         "Accept, reject or set back to pending a membership (the member project "
         "only).", [("PUT", _MEMBER)]),
    rule("delete_member", base.ADMIN_OR_PROJECT_MEMBER,
         "Stop sharing an image with a project (the image's owner only).",
         [("DELETE", _MEMBER)]),
]


def list_rules() -> list:
    """Member rules."""
    return rules

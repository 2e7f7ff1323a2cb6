"""Check strings shared by several resources.

Targets name the image's owning project ``project_id``; credentials carry the
caller's ``project_id`` and roles. Defaults follow the admin / project member /
project reader model; every one of them may be overridden in the policy file.
"""

from oslo_policy import policy

ADMIN = "role:admin"
PROJECT_MEMBER = "role:member and project_id:%(project_id)s"
PROJECT_READER = "role:reader and project_id:%(project_id)s"
ADMIN_OR_PROJECT_MEMBER = f"{ADMIN} or ({PROJECT_MEMBER})"
ADMIN_OR_PROJECT_READER = f"{ADMIN} or ({PROJECT_READER})"
# A reader may read an image its project owns, is a member of, or that is public or
# community. (Visibility itself is enforced in SQL; this rule lets operators narrow it.)
ADMIN_OR_IMAGE_READER = (
    f"{ADMIN} or (role:reader and (project_id:%(project_id)s or "
    "project_id:%(member_id)s or 'public':%(visibility)s or "
    "'community':%(visibility)s))")

rules = [
    policy.RuleDefault(
        name="context_is_admin",
        check_str=ADMIN,
        description="Callers matching this rule are administrators: they see every "
                    "image of every project."),
    policy.RuleDefault(
        name="default",
        check_str="",
        description="Used for an action that has no rule of its own."),
]


def list_rules() -> list:
    """Base rules."""
    return rules

"""Check strings shared by every resource, and the two base rules.

Vocabulary of targets (what ``%(name)s`` may refer to):

* ``project_id`` / ``owner``: the project that owns the image (or task, namespace);
* ``member_id``: for image calls, the caller's project when it is a member of the
  image; for member calls, the member project the call is about;
* ``visibility``: ``public``, ``community``, ``shared`` or ``private``.

Credentials carry the caller's ``project_id``, ``roles`` and ``system_scope``.
Defaults follow the persona model: *admin* (any project), *project member*
(writes within its project) and *project reader* (reads within its project).
Every rule is project-scoped: with ``[oslo_policy] enforce_scope`` (on by
default) a system-scoped token is refused.
"""

from oslo_log import versionutils
from oslo_policy import policy

PROJECT_SCOPE = ["project"]

ADMIN = "role:admin"
SERVICE = "role:service"
PROJECT_MEMBER = "role:member and project_id:%(project_id)s"
PROJECT_READER = "role:reader and project_id:%(project_id)s"
IMAGE_MEMBER = "project_id:%(member_id)s"
PUBLIC = "'public':%(visibility)s"
COMMUNITY = "'community':%(visibility)s"
SHARED = "'shared':%(visibility)s"

ADMIN_OR_PROJECT_MEMBER = f"{ADMIN} or ({PROJECT_MEMBER})"
ADMIN_OR_PROJECT_READER = f"{ADMIN} or ({PROJECT_READER})"
# Creating: the caller's project must be the new image's owner.
ADMIN_OR_PROJECT_MEMBER_CREATE = f"{ADMIN} or ({PROJECT_MEMBER} and project_id:%(owner)s)"
# Reading an image the caller can see. Who sees what is decided in SQL (owner,
# public, community, shared with an accepted/pending member); these strings let
# operators narrow it further, never widen it.
_VISIBLE = (f"project_id:%(project_id)s or {IMAGE_MEMBER} or {PUBLIC} or {COMMUNITY} "
            f"or {SHARED}")
ADMIN_OR_READER_OF_VISIBLE_IMAGE = f"{ADMIN} or (role:reader and ({_VISIBLE}))"
ADMIN_OR_MEMBER_OF_VISIBLE_IMAGE = f"{ADMIN} or (role:member and ({_VISIBLE}))"
# Membership records: the owner's project, or the member project itself.
ADMIN_OR_OWNER_OR_IMAGE_MEMBER_READER = (
    f"{ADMIN} or (role:reader and (project_id:%(project_id)s or {IMAGE_MEMBER}))")
ADMIN_OR_IMAGE_MEMBER_MEMBER = f"{ADMIN} or (role:member and {IMAGE_MEMBER})"

# Before the persona defaults every rule fell back to ``default`` (allow). With
# ``[oslo_policy] enforce_new_defaults = False`` the old default is OR-ed in again.
DEPRECATED_REASON = ("The Images API now uses the admin / project member / project "
                     "reader persona defaults.")
DEPRECATED_SINCE = versionutils.deprecated.WALLABY


def deprecated(name: str) -> dict:
    """Keyword arguments that mark ``name``'s old ``rule:default`` check deprecated."""
    return {"deprecated_rule": policy.DeprecatedRule(
        name=name, check_str="rule:default", deprecated_reason=DEPRECATED_REASON,
        deprecated_since=DEPRECATED_SINCE)}


def rule(name: str, check_str: str, description: str,
         operations: list[tuple[str, str]], *, legacy: bool = True):
    """A project-scoped DocumentedRuleDefault; ``operations`` = [(method, path)]."""
    return policy.DocumentedRuleDefault(
        name=name, check_str=check_str, description=description,
        scope_types=PROJECT_SCOPE,
        operations=[{"method": method, "path": path} for method, path in operations],
        **(deprecated(name) if legacy else {}))


rules = [
    policy.RuleDefault(
        name="context_is_admin",
        check_str=ADMIN,
        description="Callers matching this rule are administrators: they see every "
                    "image of every project."),
    policy.RuleDefault(
        name="default",
        check_str="",
        description="The rule used by any action that has no rule of its own "
                    "(and by the deprecated defaults). Set it to \"role:admin\" to "
                    "deny by default."),
]


def list_rules() -> list:
    """Base rules."""
    return rules

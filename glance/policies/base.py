"""The base rules, and the check strings every resource's defaults are built from.

Defaults are written the way OpenStack Glance writes them, on top of three base
rules, so that an operator's policy file that overrides a base rule changes every
rule built on it here too:

* ``context_is_admin`` (``role:admin``): who is an administrator. Every default
  starts with ``rule:context_is_admin or ...``; the same rule decides who sees
  every project's images (the request context's ``is_admin``);
* ``service_api`` (``role:service or role:admin``): other OpenStack services
  (Nova, Cinder) calling on a user's behalf;
* ``default`` (empty: allowed): the rule of any action without a rule of its own,
  and the old default that ``[oslo_policy] enforce_new_defaults = False`` OR-s in.

Vocabulary of targets (what ``%(name)s`` may refer to):

* ``project_id`` / ``owner``: the project that owns the image (task, namespace);
* ``member_id``: the caller's project when the image is ``shared`` and the caller
  does not own it (it reached the image as a member), else ``None``;
* ``visibility``: ``public``, ``community``, ``shared`` or ``private``;
* for an existing image also ``id``/``image_id`` and every other attribute
  (``name``, ``status``, ``container_format``, ``protected``, ...) and additional
  property by name (see ``glance.services.access.policy_target``).

Credentials carry the caller's ``project_id``, ``roles`` and ``system_scope``.
Every rule but the base ones is project-scoped: with ``[oslo_policy]
enforce_scope`` (on by default) a system-scoped token is refused.
"""

from oslo_log import versionutils
from oslo_policy import policy

PROJECT_SCOPE = ["project"]

# -- the base rules, by reference ------------------------------------------------------
ADMIN = "rule:context_is_admin"
SERVICE = "rule:service_api"
DEFAULT = "rule:default"

# -- building blocks -------------------------------------------------------------------
PROJECT_MEMBER = "role:member and project_id:%(project_id)s"
PROJECT_READER = "role:reader and project_id:%(project_id)s"
IMAGE_MEMBER = "project_id:%(member_id)s"
COMMUNITY = "'community':%(visibility)s"
PUBLIC = "'public':%(visibility)s"
SHARED = "'shared':%(visibility)s"
# An image the caller can see: its project's, shared with it, or open to all. Who
# sees what is decided in the database query first; these strings can narrow it.
_VISIBLE = (f"project_id:%(project_id)s or {IMAGE_MEMBER} or {COMMUNITY} or {PUBLIC} "
            f"or {SHARED}")

# -- composed defaults -----------------------------------------------------------------
ADMIN_OR_PROJECT_MEMBER = f"{ADMIN} or ({PROJECT_MEMBER})"
ADMIN_OR_PROJECT_READER = f"{ADMIN} or ({PROJECT_READER})"
# Creating: the new image's owner must be the caller's project.
ADMIN_OR_PROJECT_MEMBER_CREATE = f"{ADMIN} or ({PROJECT_MEMBER} and project_id:%(owner)s)"
ADMIN_OR_READER_OF_VISIBLE_IMAGE = f"{ADMIN} or (role:reader and ({_VISIBLE}))"
ADMIN_OR_MEMBER_OF_VISIBLE_IMAGE = f"{ADMIN} or (role:member and ({_VISIBLE}))"
# A namespace the caller can see: its project's or a public one.
ADMIN_OR_READER_OF_VISIBLE_NAMESPACE = (
    f"{ADMIN} or (role:reader and (project_id:%(project_id)s or {PUBLIC}))")
# Membership records: the owner's project or a member project (oslo.policy reads
# "a or b and c" as "a or (b and c)"; the string is kept as Glance spells it).
ADMIN_OR_OWNER_OR_IMAGE_MEMBER_READER = (
    f"{ADMIN} or role:reader and (project_id:%(project_id)s or {IMAGE_MEMBER})")
ADMIN_OR_IMAGE_MEMBER_MEMBER = f"{ADMIN} or (role:member and {IMAGE_MEMBER})"
SERVICE_OR_PROJECT_MEMBER_CREATE = (
    f"{SERVICE} or ({PROJECT_MEMBER} and project_id:%(owner)s)")
ADMIN_OR_SERVICE = f"{ADMIN} or {SERVICE}"

# Before the persona defaults (Wallaby) the image rules fell back to ``default``
# (allow); ``[oslo_policy] enforce_new_defaults = False`` OR-s that in again.
DEPRECATED_REASON = ("The Images API now has admin / project member / project reader "
                     "defaults instead of falling back to the default rule.")
WALLABY = versionutils.deprecated.WALLABY
XENA = versionutils.deprecated.XENA


def deprecated(name: str, check_str: str = DEFAULT, reason: str = DEPRECATED_REASON,
               since: str = WALLABY) -> policy.DeprecatedRule:
    """The deprecated default of ``name`` (by default: ``rule:default``, since Wallaby)."""
    return policy.DeprecatedRule(name=name, check_str=check_str,
                                 deprecated_reason=reason, deprecated_since=since)


def rule(name: str, check_str: str, description: str,
         operations: list[tuple[str, str]], *, legacy: bool = True,
         deprecated_rule: policy.DeprecatedRule | None = None,
         **kwargs) -> policy.DocumentedRuleDefault:
    """A project-scoped DocumentedRuleDefault; ``operations`` = [(method, path)].

    ``legacy`` gives it the Wallaby deprecated default (``rule:default``) unless
    ``deprecated_rule`` names another one.
    """
    if deprecated_rule is None and legacy:
        deprecated_rule = deprecated(name)
    return policy.DocumentedRuleDefault(
        name=name, check_str=check_str, description=description,
        scope_types=PROJECT_SCOPE,
        operations=[{"method": method, "path": path} for method, path in operations],
        deprecated_rule=deprecated_rule, **kwargs)


rules = [
    policy.RuleDefault(
        name="default",
        check_str="",
        description="The rule of any action without a rule of its own, and the old "
                    "default of the image rules (see enforce_new_defaults). Empty "
                    "means allowed; set it to \"role:admin\" to deny by default.",
        deprecated_rule=deprecated(
            "default", ADMIN, since="Ussuri",
            reason="Policy files that rely on the default rule for the rules they do "
                   "not list must now set it explicitly (for instance to "
                   "\"role:admin\"), so that the defaults in code apply when no "
                   "policy file is given.")),
    policy.RuleDefault(
        name="context_is_admin",
        check_str="role:admin",
        description="Who is an administrator: every default starts with "
                    "rule:context_is_admin, and callers matching it see the images "
                    "of every project."),
    policy.RuleDefault(
        name="service_api",
        check_str="role:service or role:admin",
        description="Other OpenStack services calling the Images API on a user's "
                    "behalf (the locations API, store details). The admin role is "
                    "accepted because not every service sends a service-role token."),
]


def list_rules() -> list:
    """Base rules."""
    return rules

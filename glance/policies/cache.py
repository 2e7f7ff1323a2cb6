"""Policy rules for the image cache API (``/v2/cache``, Images API v2.14).

All default to administrators. The deprecated default of cache_image,
cache_list and cache_delete is ``rule:manage_image_cache`` (the rule of
Glance's older cache-management calls), so a policy file that customised that
rule keeps applying while ``[oslo_policy] enforce_new_defaults`` is false.
cache_clean and cache_prune (v2.18) are newer and have no deprecated default.
"""

from oslo_log import versionutils
from oslo_policy import policy

from glance.policies import base

LEGACY_RULE = "manage_image_cache"
_DEPRECATED_REASON = "The cache API has one rule per call; manage_image_cache is their " \
                     "former common rule."


def _rule(name: str, description: str, operations: list[tuple[str, str]]):
    return policy.DocumentedRuleDefault(
        name=name, check_str=base.ADMIN, description=description,
        scope_types=base.PROJECT_SCOPE,
        operations=[{"method": method, "path": path} for method, path in operations],
        deprecated_rule=policy.DeprecatedRule(
            name=name, check_str=f"rule:{LEGACY_RULE}",
            deprecated_reason=_DEPRECATED_REASON,
            deprecated_since=versionutils.deprecated.XENA))


rules = [
    policy.RuleDefault(
        name=LEGACY_RULE, check_str=base.ADMIN,
        description="Former common rule of the cache calls; only referenced by the "
                    "deprecated defaults of cache_image, cache_list and cache_delete."),
    _rule("cache_image", "Queue an image for caching on this node.",
          [("PUT", "/v2/cache/{image_id}")]),
    _rule("cache_list", "List the cached and the queued images of this node.",
          [("GET", "/v2/cache")]),
    _rule("cache_delete", "Remove an image, or every image, from this node's cache "
                          "and queue.",
          [("DELETE", "/v2/cache/{image_id}"), ("DELETE", "/v2/cache")]),
    base.rule("cache_clean", base.ADMIN, "Remove invalid and stalled files from this "
              "node's cache now.", [("POST", "/v2/cache/clean")], legacy=False),
    base.rule("cache_prune", base.ADMIN, "Prune this node's cache to "
              "image_cache_max_size now.", [("POST", "/v2/cache/prune")], legacy=False),
]


def list_rules() -> list:
    """Image cache rules."""
    return rules

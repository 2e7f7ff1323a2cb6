"""Policy rules for the image cache API (``/v2/cache``, Images API v2.14 and v2.18).

All default to administrators. The deprecated default of cache_image,
cache_list and cache_delete is ``rule:manage_image_cache`` (the one rule of the
older cache-management calls), so a policy file that customised that rule keeps
applying while ``[oslo_policy] enforce_new_defaults`` is false.
"""

from oslo_policy import policy

from glance.policies import base
from glance.policies.base import rule

LEGACY_RULE = "manage_image_cache"
_DEPRECATED_REASON = ("The cache API has one rule per call; manage_image_cache was "
                      "their common rule.")


def _per_call(name: str, description: str, operations: list[tuple[str, str]]):
    return rule(name, base.ADMIN, description, operations,
                deprecated_rule=base.deprecated(name, f"rule:{LEGACY_RULE}",
                                                _DEPRECATED_REASON, base.XENA))


rules = [
    policy.RuleDefault(
        name=LEGACY_RULE, check_str=base.ADMIN, scope_types=base.PROJECT_SCOPE,
        description="Former common rule of the cache calls; only referenced by the "
                    "deprecated defaults of cache_image, cache_list and cache_delete."),
    rule("list_cached_nodes", base.ADMIN,
         "List the nodes that hold an image in their cache (centralized_db "
         "cache driver).",
         [("GET", "/v2/cache/nodes/{image_id}")], legacy=False),
    _per_call("cache_image", "Queue an image for caching on this node.",
              [("PUT", "/v2/cache/{image_id}")]),
    _per_call("cache_list", "List the cached and the queued images of this node.",
              [("GET", "/v2/cache")]),
    _per_call("cache_delete", "Remove every image, or one image, from this node's "
                              "cache and queue.",
              [("DELETE", "/v2/cache"), ("DELETE", "/v2/cache/{image_id}")]),
    rule("cache_clean", base.ADMIN, "Remove invalid and stalled files from this "
         "node's cache now.", [("POST", "/v2/cache/clean")], legacy=False),
    rule("cache_prune", base.ADMIN, "Prune this node's cache to "
         "image_cache_max_size now.", [("POST", "/v2/cache/prune")], legacy=False),
]


def list_rules() -> list:
    """Image cache rules."""
    return rules

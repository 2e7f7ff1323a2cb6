"""Policy rules for the discovery calls under /v2/info."""

from glance.policies import base
from glance.policies.base import rule

rules = [
    rule("stores_info_detail", base.ADMIN,
         "Show the stores with their type, properties and weight.",
         [("GET", "/v2/info/stores/detail")], legacy=False),
]


def list_rules() -> list:
    """Discovery rules."""
    return rules

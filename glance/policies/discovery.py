"""Policy rules for the discovery calls under /v2/info."""

from glance.policies import base
from glance.policies.base import rule

rules = [
    rule("stores_info_detail", base.ADMIN_OR_SERVICE,
         "Show the stores with their type, properties and weight.",
         [("GET", "/v2/info/stores/detail")],
         deprecated_rule=base.deprecated(
             "stores_info_detail", base.ADMIN, since="2025.1",
             reason="Services (the service_api rule) may read the store details "
                    "too.")),
]


def list_rules() -> list:
    """Discovery rules."""
    return rules

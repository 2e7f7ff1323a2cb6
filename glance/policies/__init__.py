"""Every policy rule glance enforces, with its default in code.

One module per resource; each has ``list_rules()``. A new resource adds its
module to ``MODULES`` (the oslo.policy.policies entry point calls list_rules).
"""

import itertools

from glance.policies import base, cache, discovery, image, member, metadef, tasks

MODULES = [base, image, member, tasks, discovery, metadef, cache]


def list_rules() -> list:
    """All rule defaults (the oslo.policy.policies entry point)."""
    return list(itertools.chain.from_iterable(module.list_rules() for module in MODULES))

"""Every policy rule glance enforces, with its default in code."""

import itertools

from glance.policies import base, image


def list_rules() -> list:
    """All rule defaults (the oslo.policy.policies entry point)."""
    return list(itertools.chain(base.list_rules(), image.list_rules()))

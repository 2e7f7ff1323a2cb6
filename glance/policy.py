"""The policy enforcer: rule defaults from glance.policies, overrides from the policy file."""

import time

from oslo_config import cfg
from oslo_policy import opts as policy_opts
from oslo_policy import policy

from glance import exception, policies

CONF = cfg.CONF
policy_opts.set_defaults(CONF, policy_file="policy.yaml", enforce_scope=True,
                         enforce_new_defaults=True)

_ENFORCER: policy.Enforcer | None = None
RULE_FILE_CHECK_INTERVAL = 1.0


class Enforcer(policy.Enforcer):
    """An Enforcer that looks for policy file changes at most once a second.

    oslo.policy checks the policy file (and policy.d directories) for changes on
    every enforce() call: several stat() calls per check, a large share of a
    metadata request's cost. Edits still take effect within a second.
    """

    _last_rule_check = 0.0

    def load_rules(self, force_reload: bool = False) -> None:
        now = time.monotonic()
        if (not force_reload and self.rules
                and now - self._last_rule_check < RULE_FILE_CHECK_INTERVAL):
            return
        self._last_rule_check = now
        super().load_rules(force_reload)


def get_enforcer() -> policy.Enforcer:
    """The process-wide Enforcer (also the oslo.policy.enforcer entry point)."""
    global _ENFORCER
    if _ENFORCER is None:
        _ENFORCER = Enforcer(CONF, use_conf=True)
        _ENFORCER.register_defaults(policies.list_rules())
    return _ENFORCER


class InvalidScope(exception.PolicyNotAuthorized):
    """The token's scope (e.g. system) is not one the rule accepts: always 403."""

    message = "You are not authorized to complete %(action)s action with a token of " \
              "this scope."


def reset() -> None:
    """Forget the enforcer (tests that change the policy file)."""
    global _ENFORCER
    _ENFORCER = None


def authorize(context, action: str, target: dict) -> None:
    """Raise PolicyNotAuthorized unless ``context`` may do ``action`` on ``target``."""
    enforcer = get_enforcer()
    try:
        allowed = enforcer.enforce(action, target, context)
    except policy.InvalidScope as err:
        raise InvalidScope(action=action) from err
    if not allowed:
        raise exception.PolicyNotAuthorized(action=action)


def check_is_admin(context) -> bool:
    """Whether the caller matches ``context_is_admin``."""
    return get_enforcer().enforce("context_is_admin", {}, context)

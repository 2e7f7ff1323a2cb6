"""The policy enforcer: rule defaults from glance.policies, overrides from the policy file."""

from oslo_config import cfg
from oslo_policy import opts as policy_opts
from oslo_policy import policy

from glance import exception, policies

CONF = cfg.CONF
policy_opts.set_defaults(CONF, policy_file="policy.yaml", enforce_scope=True,
                         enforce_new_defaults=True)

_ENFORCER: policy.Enforcer | None = None


def get_enforcer() -> policy.Enforcer:
    """The process-wide Enforcer (also the oslo.policy.enforcer entry point)."""
    global _ENFORCER
    if _ENFORCER is None:
        _ENFORCER = policy.Enforcer(CONF, use_conf=True)
        _ENFORCER.register_defaults(policies.list_rules())
    return _ENFORCER


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
        raise exception.PolicyNotAuthorized(action=action) from err
    if not allowed:
        raise exception.PolicyNotAuthorized(action=action)


def check_is_admin(context) -> bool:
    """Whether the caller matches ``context_is_admin``."""
    return get_enforcer().enforce("context_is_admin", {}, context)

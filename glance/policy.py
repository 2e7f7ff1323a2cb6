"""The policy enforcer: rule defaults from glance.policies, overrides from the policy file."""

import copy
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from oslo_config import cfg
from oslo_log import log as logging
from oslo_policy import _checks, policy
from oslo_policy import opts as policy_opts

from glance import exception, policies

CONF = cfg.CONF
LOG = logging.getLogger(__name__)
T = TypeVar("T")
policy_opts.set_defaults(CONF, policy_file="policy.yaml", enforce_new_defaults=True)

# oslo.policy 6 always checks scope and dropped its option; glance keeps the
# operator-facing switch so that existing glance-api.conf files keep their meaning.
ENFORCE_SCOPE_OPT = cfg.BoolOpt("enforce_scope", default=True, help="""
Refuse (403) tokens whose scope is not one the rule accepts. Every glance rule
is project-scoped, so system- and domain-scoped tokens are refused. When false,
such a token is logged and then checked as if it were project-scoped, on its
roles alone.
""")
try:
    CONF.register_opt(ENFORCE_SCOPE_OPT, group="oslo_policy")
except cfg.DuplicateOptError:  # registered by oslo.policy itself (older releases)
    pass

_ENFORCER: policy.Enforcer | None = None
_CREATE_LOCK = threading.Lock()
RULE_FILE_CHECK_INTERVAL = 1.0


class Enforcer(policy.Enforcer):
    """An Enforcer that looks for policy file changes at most once a second.

    oslo.policy checks the policy file (and policy.d directories) for changes on
    every enforce() call: several stat() calls per check, a large share of a
    metadata request's cost. Edits still take effect within a second. One thread
    at a time (re)loads: oslo.policy's load_rules is not thread-safe (threads that
    checked while another loaded saw the file's rules without the defaults, were
    refused, or failed with "dictionary changed size during iteration").
    """

    _last_rule_check = 0.0
    _load_lock = threading.Lock()

    def load_rules(self, force_reload: bool = False) -> None:
        if (not force_reload and self.rules
                and time.monotonic() - self._last_rule_check < RULE_FILE_CHECK_INTERVAL):
            return
        with self._load_lock:
            now = time.monotonic()
            if (not force_reload and self.rules
                    and now - self._last_rule_check < RULE_FILE_CHECK_INTERVAL):
                return  # another thread has just loaded them
            super().load_rules(force_reload)
            self._last_rule_check = now


def get_enforcer() -> policy.Enforcer:
    """The process-wide Enforcer (also the oslo.policy.enforcer entry point)."""
    global _ENFORCER  # noqa: PLW0603 - process-wide on purpose: one enforcer
    if _ENFORCER is None:
        with _CREATE_LOCK:
            if _ENFORCER is None:
                enforcer = Enforcer(CONF, use_conf=True)
                # Every persona default replaced a Wallaby/Xena one: warning about each
                # in the log on every start helps nobody (Glance silences these too).
                enforcer.suppress_default_change_warnings = True
                enforcer.register_defaults(policies.list_rules())
                _ENFORCER = enforcer
    return _ENFORCER


def reset() -> None:
    """Forget the enforcer (tests that change the policy file)."""
    global _ENFORCER  # noqa: PLW0603 - process-wide on purpose: one enforcer
    _ENFORCER = None


def _token_scope(context) -> str:
    if getattr(context, "system_scope", None):
        return "system"
    if getattr(context, "domain_id", None) and not context.project_id:
        return "domain"
    return "project"


def _scope_checked(enforcer: policy.Enforcer, context, action: str):
    """The context to evaluate ``action`` with, or exception.InvalidScope for a foreign scope."""
    rule = enforcer.registered_rules.get(action)
    scope = _token_scope(context)
    if rule is None or not rule.scope_types or scope in rule.scope_types:
        return context
    if CONF.oslo_policy.enforce_scope:
        raise exception.InvalidScope(action=action)
    LOG.warning("A %s-scoped token used %s, which is for %s-scoped tokens; allowed "
                "because [oslo_policy] enforce_scope is false.", scope, action,
                "/".join(rule.scope_types))
    unscoped = copy.copy(context)
    unscoped.system_scope = None
    unscoped.domain_id = None
    return unscoped


def authorize(context, action: str, target: dict) -> None:
    """Raise PolicyNotAuthorized unless ``context`` may do ``action`` on ``target``.

    A token of a scope the rule does not accept raises exception.InvalidScope (403, never
    turned into 404) unless ``[oslo_policy] enforce_scope`` is false.
    """
    enforcer = get_enforcer()
    context = _scope_checked(enforcer, context, action)
    try:
        allowed = enforcer.enforce(action, target, context)
    except exception.InvalidScope as err:
        raise exception.InvalidScope(action=action) from err
    if not allowed:
        raise exception.PolicyNotAuthorized(action=action)


def check_is_admin(context) -> bool:
    """Whether the caller matches ``context_is_admin``.

    The target is the context's own dictionary (``project_id``, ``user_id``,
    ``roles``, ...), as Glance passes it, so a policy file written for Glance that
    refers to such keys in ``context_is_admin`` reads the same values here.
    """
    return get_enforcer().enforce("context_is_admin", context.to_dict(), context)


_TARGET_REFERENCE = re.compile(r"%\(([^)]+)\)")
_LEAF_CHECKS = (_checks.RoleCheck, _checks.GenericCheck)
_MISSING = object()


def _target_keys(enforcer: policy.Enforcer, action: str) -> frozenset[str] | None:
    """The target keys the effective rule of ``action`` reads (following ``rule:``
    references), or None when it holds a check whose inputs we cannot list (an
    http check, an extension) or has no rule of its own."""
    keys: set[str] = set()
    followed: set[str] = set()

    def walk(check) -> bool:
        kind = type(check)
        if kind in (_checks.TrueCheck, _checks.FalseCheck):
            return True
        if kind in (_checks.AndCheck, _checks.OrCheck):
            return all(walk(rule) for rule in check.rules)
        if kind is _checks.NotCheck:
            return walk(check.rule)
        if kind is _checks.RuleCheck:
            if check.match in followed:
                return True
            followed.add(check.match)
            referred = enforcer.rules.get(check.match)
            return referred is None or walk(referred)
        if kind in _LEAF_CHECKS:
            keys.update(_TARGET_REFERENCE.findall(check.match))
            return True
        return False

    rule = enforcer.rules.get(action)
    return frozenset(keys) if rule is not None and walk(rule) else None


def filter_allowed(context, action: str, items: Iterable[T],
                   target_of: Callable[[T], dict[str, Any]]) -> list[T]:
    """The items ``context`` may ``action``, each checked against ``target_of(item)``
    (as Glance filters a listing by ``get_image``). Items whose targets agree on
    every key the rule reads share one evaluation: a page of images usually needs
    two or three, not one per image."""
    enforcer = get_enforcer()
    enforcer.load_rules()
    keys = _target_keys(enforcer, action)
    decided: dict[tuple, bool] = {}
    allowed: list[T] = []
    for item in items:
        target = target_of(item)
        signature = None if keys is None else tuple(
            (key, type(value), str(value)) for key in sorted(keys)
            for value in (target.get(key, _MISSING),))
        verdict = decided.get(signature) if signature is not None else None
        if verdict is None:
            try:
                authorize(context, action, target)
                verdict = True
            except exception.Forbidden:
                verdict = False
            if signature is not None:
                decided[signature] = verdict
        if verdict:
            allowed.append(item)
    return allowed

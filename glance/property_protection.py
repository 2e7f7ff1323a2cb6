"""Property protections: which callers may create, read, update and delete which
additional image properties (``[DEFAULT] property_protection_file``).

The file is an INI file; each section names a property by a regular expression
(searched in the name, so anchor it with ``^...$`` to match whole names) and has
one key per operation: ``create``, ``read``, ``update``, ``delete``. The sections
are tried in file order and the first one whose expression matches decides; a
property no section matches may not be touched at all. A value is

* with ``property_protection_rule_format = roles``: a comma-separated list of
  roles (the caller needs one of them), ``@`` (everyone) or ``!`` (nobody); an
  empty value also means nobody;
* with ``policies``: the name of one policy rule (defined in the policy file),
  which the caller must pass.

Glance's own ``os_glance_*`` properties are never protected: as in OpenStack
Glance, a section ``os_glance.*`` allowing everyone comes first whatever the file
says (it matches any name containing ``os_glance``), and sections of the file
whose name starts with ``os_glance`` are ignored. Base image attributes (name, visibility, ...)
are not properties and are never protected here.

A file that cannot be read, a section without one of the four keys, an
expression that does not compile, ``@`` together with ``!``, or several policies
for one operation make ``glance-api`` refuse to start (one line naming the file).
"""

import configparser
import re
from dataclasses import dataclass

from oslo_config import cfg
from oslo_policy import _checks

from glance import policy
from glance.conf import validate

CONF = cfg.CONF
OPERATIONS = ("create", "read", "update", "delete")
EVERYONE = "@"
NOBODY = "!"
# Glance's reserved namespace, allowed to everyone ahead of the file's sections.
RESERVED_PREFIX = "os_glance"
_RESERVED_RULE = re.compile(r"os_glance.*")


@dataclass(frozen=True)
class Rule:
    """One section: its expression, and per operation who may (roles or a policy)."""

    section: str
    expression: re.Pattern[str]
    allowed: dict[str, tuple[str, ...]]  # operation -> roles, or (policy rule name,)


class PropertyRules:
    """The rules of one property protection file, in file order."""

    def __init__(self, rules: list[Rule], rule_format: str, path: str) -> None:
        self.rules = rules
        self.rule_format = rule_format
        self.path = path

    def allows(self, context, name: str, operation: str) -> bool:
        """Whether the caller may perform ``operation`` on the property ``name``."""
        if _RESERVED_RULE.search(name):  # Glance's own section, ahead of the file's
            return True
        rule = next((r for r in self.rules if r.expression.search(name)), None)
        if rule is None:
            return False
        allowed = rule.allowed[operation]
        if not allowed or NOBODY in allowed:
            return False
        if EVERYONE in allowed:
            return True
        if self.rule_format == "policies":
            return _passes(context, allowed[0])
        roles = set(context.roles or []) | set(getattr(context, "service_roles", None) or [])
        return bool(roles & {role.lower() for role in allowed})


def _passes(context, rule_name: str) -> bool:
    """Whether ``context`` passes the policy rule ``rule_name`` (a rule the policy file
    does not define is its ``default`` rule, as for any unknown rule in Glance)."""
    return bool(policy.get_enforcer().enforce(_checks.RuleCheck("rule", rule_name), {},
                                              context))


def _fail(path: str, reason: str) -> validate.ConfigError:
    return validate.ConfigError(
        f"[DEFAULT] property_protection_file = {path}: {validate.one_line(reason)}")


def _allowed(path: str, section: str, operation: str, value: str,
             rule_format: str) -> tuple[str, ...]:
    if rule_format == "policies":
        if "," in value:
            raise _fail(path, f"[{section}] {operation} = {value}: one policy rule per "
                              "operation (combine rules in the policy file)")
        return (value.strip(),) if value.strip() else ()
    roles = tuple(role.strip() for role in value.split(",") if role.strip())
    if EVERYONE in roles and NOBODY in roles:
        raise _fail(path, f"[{section}] {operation} = {value}: '@' and '!' exclude each "
                          "other")
    return roles


def load(path: str, rule_format: str) -> PropertyRules:
    """Parse a property protection file; ConfigError (one line) when it is unusable."""
    parser = configparser.ConfigParser(interpolation=None, default_section="\0none")
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except (OSError, UnicodeDecodeError, configparser.Error) as err:
        raise _fail(path, f"cannot be read: {err}") from None
    rules = []
    for section in parser.sections():
        if section.startswith(RESERVED_PREFIX):
            continue  # reserved for Glance, allowed to everyone
        try:
            expression = re.compile(section)
        except re.error as err:
            raise _fail(path, f"[{section}] is not a regular expression: {err}") from None
        missing = [op for op in OPERATIONS if not parser.has_option(section, op)]
        if missing:
            raise _fail(path, f"[{section}] has no {', '.join(missing)} (each section "
                              "names create, read, update and delete)")
        allowed = {op: _allowed(path, section, op, parser.get(section, op), rule_format)
                   for op in OPERATIONS}
        rules.append(Rule(section, expression, allowed))
    return PropertyRules(rules, rule_format, path)


def configured_path(conf: cfg.ConfigOpts = CONF) -> str | None:
    """The property protection file the configuration names (searched next to the
    config files when relative), or None when protections are off."""
    name = conf.property_protection_file
    if not name:
        return None
    return conf.find_file(name) or name


class Protections:
    """The rules of the configured file, loaded when the configuration names one
    (and again when it names another); None while protections are off."""

    def __init__(self, conf: cfg.ConfigOpts = CONF) -> None:
        self._conf = conf
        self._loaded: tuple[tuple[str, str], PropertyRules] | None = None

    def rules(self) -> PropertyRules | None:
        path = configured_path(self._conf)
        if path is None:
            return None
        key = (path, self._conf.property_protection_rule_format)
        if self._loaded is None or self._loaded[0] != key:
            self._loaded = (key, load(*key))
        return self._loaded[1]


def check(conf: cfg.ConfigOpts = CONF) -> None:
    """Start-up check: the configured file loads (ConfigError otherwise)."""
    path = configured_path(conf)
    if path is not None:
        load(path, conf.property_protection_rule_format)

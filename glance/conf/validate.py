"""Start-up check of every option value: a bad value is one line, not a 500 later.

oslo.config converts a value the first time it is read, so a bad value in the
file would otherwise surface inside the first request that reads it.
:func:`check_values` reads every registered option once, right after the
files are loaded, and turns the first failure into a :class:`ConfigError`
whose message names the option, its group, the file, the value and what the
option accepts, on one line.
"""

import logging
import os
import re
from collections.abc import Iterator

from oslo_config import cfg, types

CFG_LOGGER = "oslo_config.cfg"  # where oslo.config reports deprecated options


def one_line(text: object) -> str:
    """``str(text)`` on one line: each run of whitespace (newlines too) as one space."""
    return " ".join(str(text).split())


class ConfigError(Exception):
    """The configuration cannot be used; the message is one line for the operator."""


def registered_options(conf: cfg.ConfigOpts) -> Iterator[tuple[str | None, cfg.Opt]]:
    """(group name or None, option) for every registered option.

    oslo.config has no public iterator over option objects; like its own
    ``log_opt_values`` this reads the registry.
    """
    for info in list(conf._opts.values()):
        yield None, info["opt"]
    for name, group in list(conf._groups.items()):
        for info in list(group._opts.values()):
            yield name, info["opt"]


def allowed_values(kind: types.ConfigType) -> str:
    """What an option of type ``kind`` accepts, in words."""
    choices = getattr(kind, "choices", None)
    if choices:
        words = "one of: " + ", ".join(str(c) for c in choices)
        return words + (" (any case)" if getattr(kind, "ignore_case", False) else "")
    if isinstance(kind, types.Boolean):
        return "true or false (also yes/no, on/off, 1/0)"
    if isinstance(kind, types.Port):
        return f"a port number from {kind.min} to {kind.max}"
    if isinstance(kind, (types.Integer, types.Float)):
        return _number_words(kind)
    if isinstance(kind, types.List):
        items = allowed_values(kind.item_type)
        form = "[a,b]" if kind.bounds else "a,b"
        return f"a comma-separated list written {form}, each item {items}"
    if isinstance(kind, types.Dict):
        return "comma-separated key:value pairs, each value " + allowed_values(
            kind.value_type)
    return _text_words(kind)


def _number_words(kind: types.Integer | types.Float) -> str:
    noun = "an integer" if isinstance(kind, types.Integer) else "a number"
    low, high = kind.min, kind.max
    if low is not None and high is not None:
        return f"{noun} from {low} to {high}"
    if low is not None:
        return f"{noun} of at least {low}"
    if high is not None:
        return f"{noun} of at most {high}"
    return noun


def _text_words(kind: types.ConfigType) -> str:
    if isinstance(kind, (types.HostAddress, types.HostDomain)):
        return "an IP address or a host name"
    if isinstance(kind, types.IPAddress):
        return "an IP address"
    if isinstance(kind, types.Hostname):
        return "a host name"
    if isinstance(kind, types.URI):
        schemes = getattr(kind, "schemes", None)
        return "a URI" + (f" ({', '.join(schemes)})" if schemes else "")
    if isinstance(kind, types.Range):
        return "an integer range such as 1-10"
    if getattr(kind, "regex", None) is not None:
        return f"a string matching {kind.regex.pattern}"
    return "a string"


def config_files(conf: cfg.ConfigOpts) -> list[str]:
    """The files oslo.config read, in order (later files win)."""
    files = [f for f in (conf.config_file or []) if os.path.exists(f)]
    for directory in conf.config_dir or []:
        if os.path.isdir(directory):
            files += sorted(os.path.join(directory, name) for name in os.listdir(directory)
                            if name.endswith(".conf"))
    return files


def parse_file(path: str) -> dict[str, dict[str, list[str]]]:
    """``{section: {key: [values]}}`` of one config file, as oslo.config reads it."""
    sections: dict[str, dict[str, list[str]]] = {}
    cfg.ConfigParser(path, sections).parse()
    return sections


def option_keys(group: str | None, opt: cfg.Opt) -> list[tuple[str, str]]:
    """(section, key) pairs a config file may set ``[group] opt`` with (old names too)."""
    section = group or "DEFAULT"
    names = [(section, opt.dest), (section, opt.name)]
    names += [(d.group or section, d.name or opt.name) for d in opt.deprecated_opts]
    return names


def _source(conf: cfg.ConfigOpts, group: str | None, opt: cfg.Opt) -> tuple[str, str | None]:
    """Where the option's value comes from and the raw text (None when unknown)."""
    env = f"OS_{(group or 'DEFAULT').upper()}__{opt.dest.upper()}"
    if env in os.environ:
        return f"environment variable {env}", os.environ[env]
    found: tuple[str, str | None] = ("the command line or defaults", None)
    names = option_keys(group, opt)
    for path in config_files(conf):
        try:
            sections = parse_file(path)
        except (OSError, cfg.ParseError):
            continue
        for section, key in names:
            values = sections.get(section, {}).get(key)
            if values:
                found = (path, values[-1])
    return found


def _reason(err: Exception) -> str:
    text = str(err)
    if " is not valid: " in text:
        text = text.rsplit(" is not valid: ", 1)[1]
    return re.sub(r"\s+", " ", text).strip().rstrip(".")


def describe_error(conf: cfg.ConfigOpts, group: str | None, opt: cfg.Opt,
                   err: Exception) -> str:
    """The one-line message for a bad value of ``[group] opt``."""
    where, raw = _source(conf, group, opt)
    shown = "" if raw is None else (" = ****" if opt.secret else f" = {raw}")
    return (f"invalid value for [{group or 'DEFAULT'}] {opt.dest}{shown} in {where}: "
            f"{_reason(err)}; allowed: {allowed_values(opt.type)}")


class _Captured(logging.Handler):
    """Holds oslo.config's deprecation warnings until logging is set up."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def check_values(conf: cfg.ConfigOpts) -> list[logging.LogRecord]:
    """Read every registered option once; raise ConfigError on the first bad value.

    Returns the warnings oslo.config logged meanwhile (deprecated names and
    options), for :func:`replay` once logging is configured.
    """
    logger = logging.getLogger(CFG_LOGGER)
    captured, propagate = _Captured(), logger.propagate
    logger.addHandler(captured)
    logger.propagate = False
    try:
        for group, opt in registered_options(conf):
            if isinstance(opt, cfg.SubCommandOpt):
                continue
            try:
                conf[group][opt.dest] if group else conf[opt.dest]  # noqa: B018
            except Exception as err:  # noqa: BLE001 - any failure to read it is the file's
                raise ConfigError(describe_error(conf, group, opt, err)) from None
    finally:
        logger.removeHandler(captured)
        logger.propagate = propagate
    return captured.records


def replay(records: list[logging.LogRecord]) -> None:
    """Log records held by :func:`check_values` through the configured logging."""
    for record in records:
        logging.getLogger(record.name).handle(record)


def load_error(err: Exception) -> ConfigError:
    """A ConfigError for oslo.config's failure to read the files themselves."""
    return ConfigError(re.sub(r"\s+", " ", f"cannot read the configuration: {err}").strip())

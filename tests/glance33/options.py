"""Dump every option a glance-api process holds, as plain data (a script for both sides).

Run by the compatibility tier under two interpreters::

    <glance33 venv>/bin/python options.py glance33 WORKDIR   # OpenStack Glance 33
    <our venv>/bin/python options.py ours WORKDIR             # this glance

Each starts the WSGI application the way its service does (Glance's
``glance.common.wsgi_app.init_app`` with its own paste file, ours
``glance.api.app.init_app``) on a throwaway SQLite database and file store in
WORKDIR, with the keystone flavor so that keystonemiddleware registers its
options. Glance's side also adds the options of every ``oslo.config.opts``
namespace its ``etc/oslo-config-generator/glance-api.conf`` lists (some are
registered only when used), with the defaults its process sets.

Output (JSON on stdout): ``{"GROUP NAME": descriptor}``; a descriptor holds the
option class, the type (class, bounds, item type, choices, min, max...), the
default, deprecated names, flags, and ``parse``: what the type makes of each
string of CORPUS (the value's repr, or None when the type refuses it).

Only oslo.config and the standard library are imported at module level: the
file runs in either virtualenv.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import warnings
from importlib import metadata
from pathlib import Path

from oslo_config import cfg, types

GLANCE_NAMESPACES = (
    "castellan.config", "glance.api", "glance.store", "os_brick", "glance.multi_store",
    "oslo.concurrency", "oslo.messaging", "oslo.db", "oslo.policy",
    "keystonemiddleware.auth_token", "oslo.limit", "oslo.log", "oslo.middleware.cors",
    "oslo.middleware.healthcheck", "oslo.middleware.http_proxy_to_wsgi", "oslo.reports",
    "glance",  # list_image_import_opts: glance-image-import.conf, read by glance-api too
)
CORPUS = (
    "", " ", "true", "False", "on", "maybe", "0", "1", "-1", " 5 ", "80", "65536", "3.5",
    "abc", "a,b", "[a,b]", "[]", "[a", "a]", "['x', 'y']", "1,2", "[1,2]", "[80, 443]",
    "127.0.0.1", "[127.0.0.1]", "::1", "[::1]", "bad host!", "k:v", "k:v,k2:v2", "k",
    "file:///tmp/x", "http://h:80/p", "glance-direct", "[glance-direct,web-download]",
    "glance-direct,web-download", "[glance-download]", "raw", "roles", "policies",
    "centralized_db", "SQLITE", "public", "no_op", "[no_op]", "[image_conversion]",
)


def _oslo_class(obj: object) -> type:
    """The oslo.config class ``obj`` is, or derives from."""
    return next((c for c in type(obj).__mro__ if c.__module__.startswith("oslo_config")),
                type(obj))


def describe_type(kind: types.ConfigType) -> dict:
    """A type as data: its oslo.config class and every parameter that changes parsing."""
    found = {"class": _oslo_class(kind).__name__}
    if _oslo_class(kind) is not type(kind):
        found["subclass"] = type(kind).__name__
    for attr in ("bounds", "min", "max", "quotes", "ignore_case", "max_length",
                 "min_length", "inclusive", "schemes", "version"):
        if hasattr(kind, attr):
            value = getattr(kind, attr)
            found[attr] = sorted(value) if isinstance(value, (set, frozenset)) else value
    choices = getattr(kind, "choices", None)
    found["choices"] = None if choices is None else sorted(map(str, choices))
    regex = getattr(kind, "regex", None)
    found["regex"] = None if regex is None else getattr(regex, "pattern", str(regex))
    for attr in ("item_type", "value_type"):
        if hasattr(kind, attr):
            found[attr] = describe_type(getattr(kind, attr))
    return found


def _plain(value: object) -> object:
    try:
        json.dumps(value)
        return value
    except TypeError:
        return repr(value)


def _parse(kind: types.ConfigType, text: str) -> str | None:
    try:
        return repr(kind(text))
    except Exception:  # noqa: BLE001 - any refusal counts as "refused"
        return None


def describe_opt(opt: cfg.Opt, default: object = None, *, use_default: bool = False) -> dict:
    """An option as data; ``default`` replaces ``opt.default`` when ``use_default``."""
    return {
        "opt": _oslo_class(opt).__name__,
        "dest": opt.dest,
        "type": describe_type(opt.type),
        "default": _plain(default if use_default else opt.default),
        "deprecated": sorted([d.group or "", d.name or ""] for d in opt.deprecated_opts),
        "secret": opt.secret,
        "required": opt.required,
        "deprecated_for_removal": opt.deprecated_for_removal,
        "mutable": opt.mutable,
        "positional": opt.positional,
        "parse": {text: _parse(opt.type, text) for text in CORPUS},
    }


def registered(conf: cfg.ConfigOpts) -> dict[str, cfg.Opt]:
    """``{"GROUP NAME": opt}`` of everything registered in ``conf``."""
    found = {f"DEFAULT {name}": info["opt"] for name, info in conf._opts.items()}
    for group_name, group in conf._groups.items():
        for name, info in group._opts.items():
            found[f"{group_name} {name}"] = info["opt"]
    return found


def _write_config(workdir: Path, paste: Path | None) -> Path:
    lines = ["[DEFAULT]", f"state_path = {workdir / 'state'}",
             f"node_staging_uri = file://{workdir / 'staging'}/",
             "[database]", f"connection = sqlite:///{workdir / 'glance.sqlite'}",
             "[glance_store]", f"filesystem_store_datadir = {workdir / 'images'}",
             "[paste_deploy]", "flavor = keystone"]
    if paste is not None:
        lines.append(f"config_file = {paste}")
    path = workdir / "glance-api.conf"
    path.write_text("\n".join(lines) + "\n")
    return path


def _namespace_opts(namespace: str) -> list[tuple[str, cfg.Opt]]:
    pairs = []
    for point in metadata.entry_points(group="oslo.config.opts", name=namespace):
        try:
            listed = point.load()()
        except Exception:  # noqa: BLE001 - a library that is not installed (os_brick)
            continue
        for group, opts in listed:
            name = getattr(group, "name", group) or "DEFAULT"
            pairs += [(name, opt) for opt in opts]
    return pairs


def dump_glance33(workdir: Path) -> dict:
    """Glance 33's process options, plus its generator namespaces."""
    from glance.common import wsgi_app  # only in Glance's virtualenv

    paste = workdir / "glance-api-paste.ini"
    shutil.copy(Path(sys.prefix) / "etc" / "glance" / "glance-api-paste.ini", paste)
    config = _write_config(workdir, paste)
    os.environ["OS_GLANCE_CONFIG_DIR"] = str(config.parent)
    wsgi_app.init_app()
    runtime = registered(cfg.CONF)
    found = {}
    for namespace in GLANCE_NAMESPACES:
        for group, opt in _namespace_opts(namespace):
            key = f"{group} {opt.dest}"
            live = runtime.get(key)
            found[key] = describe_opt(opt, live.default if live else None,
                                      use_default=live is not None)
            found[key]["namespace"] = namespace
            found[key]["live"] = live is not None
    for key, opt in runtime.items():
        if key not in found:
            found[key] = describe_opt(opt)
            found[key]["namespace"] = "runtime"
            found[key]["live"] = True
    return found


def dump_ours(workdir: Path) -> dict:
    """Our glance-api process's options."""
    from glance.api import app  # only in ours

    config = _write_config(workdir, None)
    text = config.read_text().replace("[DEFAULT]\n", "[DEFAULT]\nworkers = 1\n")
    config.write_text(text)
    app.init_app(config_files=[str(config)])
    return {key: describe_opt(opt) for key, opt in registered(cfg.CONF).items()}


def main(argv: list[str]) -> int:
    warnings.filterwarnings("ignore")
    side, workdir = argv[0], Path(argv[1])
    workdir.mkdir(parents=True, exist_ok=True)
    found = dump_glance33(workdir) if side == "glance33" else dump_ours(workdir)
    sys.stdout.flush()
    # Log lines went to stderr; the document is the last line of stdout.
    print("\n" + json.dumps(found, sort_keys=True))
    sys.stdout.flush()
    os._exit(0)  # threads of either service (staging clean-up, notifier) may linger


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

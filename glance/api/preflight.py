"""What the API process checks before it builds anything (and, for glance-api,
before the first worker is forked): each failure is one
:class:`~glance.conf.validate.ConfigError` line naming the option or file.

* the optional packages the configuration needs (glance/conf/dependencies.py);
* the directories it writes to: each file store, the staging area, the image
  cache; created when missing, then written to once;
* the policy file and the files of the policy directories;
* for glance-api, that ``bind_host``:``bind_port`` can be listened on.
"""

import errno
import os
import socket
import tempfile
from collections.abc import Iterator

from oslo_config import cfg
from oslo_policy import policy as oslo_policy

from glance import property_protection
from glance.conf import dependencies, hierarchy, import_plugins, validate
from glance.conf import image_import as import_conf
from glance.conf import limits as limits_conf
from glance.conf import store as store_conf

CONF = cfg.CONF


def _datadirs(section: str, group) -> Iterator[tuple[str, str]]:
    """The data directories of one file store: ``filesystem_store_datadirs``
    (``PATH[:PRIORITY]`` entries) when set, else ``filesystem_store_datadir``."""
    if group.filesystem_store_datadirs:
        for entry in group.filesystem_store_datadirs:
            path, _, priority = entry.strip().rpartition(":")
            yield (f"[{section}] filesystem_store_datadirs",
                   path if path and priority.isdigit() else entry.strip())
    elif group.filesystem_store_datadir:
        yield f"[{section}] filesystem_store_datadir", group.filesystem_store_datadir


def written_dirs(conf: cfg.ConfigOpts) -> Iterator[tuple[str, str]]:
    """(option, path) of every directory the API process writes to."""
    if conf.enabled_backends:
        store_conf.register_backend_opts(conf)
        for backend, kind in conf.enabled_backends.items():
            if dependencies.store_type(kind) == "file":
                yield from _datadirs(backend, conf[backend])
    elif "file" in {dependencies.store_type(name) for name in conf.glance_store.stores}:
        yield from _datadirs("glance_store", conf.glance_store)
    staging = import_conf.staging_path(conf)
    if staging == conf.os_glance_staging_store.filesystem_store_datadir:
        yield "[os_glance_staging_store] filesystem_store_datadir", staging
    else:
        yield "[DEFAULT] node_staging_uri", staging
    if conf.image_cache_dir:
        yield "[DEFAULT] image_cache_dir", conf.image_cache_dir


def check_writable(option: str, path: str) -> None:
    """Create ``path`` if needed and write a file in it; ConfigError otherwise."""
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as err:
        raise validate.ConfigError(f"{option} = {path}: cannot create the directory: "
                                   f"{err.strerror}") from None
    try:
        handle, probe = tempfile.mkstemp(dir=path, prefix=".glance-write-check-")
    except OSError as err:
        raise validate.ConfigError(f"{option} = {path}: cannot write in the directory: "
                                   f"{err.strerror}") from None
    os.close(handle)
    os.unlink(probe)


def check_directories(conf: cfg.ConfigOpts) -> None:
    """Every directory of :func:`written_dirs` exists (or is created) and is writable."""
    for option, path in written_dirs(conf):
        check_writable(option, path)


def _check_policy_file(path: str, option: str) -> None:
    try:
        with open(path, encoding="utf-8") as handle:
            data = handle.read()
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise validate.ConfigError(f"{option}: cannot read {path}: {reason}") from None
    try:
        rules = oslo_policy.parse_file_contents(data)
    except ValueError as err:
        raise validate.ConfigError(f"{option}: {path} is not valid YAML or JSON: "
                                   f"{validate.one_line(err)}") from None
    if not isinstance(rules, dict):
        raise validate.ConfigError(f"{option}: {path} must map rule names to rules, "
                                   f"not be a {type(rules).__name__}")


def check_policy_files(conf: cfg.ConfigOpts) -> None:
    """Read and parse the policy file and the files of the policy directories, as
    oslo.policy will; one that cannot be read or parsed is a ConfigError.

    oslo.policy itself logs an unreadable file and goes on with the defaults, and
    raises on a malformed one in the middle of a request. A file that does not
    exist means no overrides, as in Glance.
    """
    options = conf.oslo_policy
    path = conf.find_file(options.policy_file)
    if path:
        _check_policy_file(path, "[oslo_policy] policy_file")
    for directory in options.policy_dirs:
        found = conf.find_file(directory)
        if not found or not os.path.isdir(found):
            continue
        for name in sorted(os.listdir(found)):
            full = os.path.join(found, name)
            if not name.startswith(".") and os.path.isfile(full):
                _check_policy_file(full, "[oslo_policy] policy_dirs")


def check(conf: cfg.ConfigOpts) -> None:
    """Everything the API process checks before it builds its application."""
    dependencies.check(conf)
    import_plugins.check(conf)
    import_conf.check(conf)
    check_directories(conf)
    check_policy_files(conf)
    property_protection.check(conf)
    limits_conf.check(conf)
    hierarchy.check(conf)


def check_listen(host: str, port: int) -> None:
    """That ``host``:``port`` can be listened on now (not in use, an address of this
    machine, a port this user may open); ConfigError otherwise."""
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as sock:
            # As gunicorn binds: a port left in TIME_WAIT is free, a listening one is not.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
    except OSError as err:
        reason = getattr(err, "strerror", None) or str(err)
        if getattr(err, "errno", None) == errno.EADDRINUSE:
            reason = "the address is already in use (is another glance-api running?)"
        raise validate.ConfigError(f"[DEFAULT] bind_port = {port}: cannot listen on "
                                   f"{shown} ([DEFAULT] bind_host = {host}): {reason}"
                                   ) from None

"""Optional packages the configuration needs, checked at start-up.

Some features work only with a package glance does not install by default:
keystonemiddleware's token cache in memcached, a database or message-bus driver,
a glance_store driver, the journald log handler. The libraries import these
lazily, so a missing one would otherwise surface as a 500 on the first request
(or a store that silently refuses uploads). :func:`check` imports what the
configuration needs, without connecting anywhere, and raises
:class:`~glance.conf.validate.ConfigError` naming the option, the package and
how to install it.
"""

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata

import oslo_messaging
from oslo_config import cfg
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from glance.conf import paste, validate

MEMCACHED_EXTRA = "pip install 'glance[memcached]'"
CEPH_BINDINGS = ("the Ceph client's Python bindings (python3-rados and python3-rbd "
                 "from your distribution; they are not on PyPI)")


@dataclass(frozen=True)
class Need:
    """Modules a configured feature imports, and how an operator gets them."""

    feature: str  # what the configuration says, e.g. "[glance_store] stores includes s3"
    modules: tuple[str, ...]
    package: str
    install: str


# glance_store driver type -> modules its driver imports, package, install hint.
STORE_NEEDS = {
    "s3": (("boto3", "botocore"), "boto3", "pip install 'glance_store[s3]'"),
    "swift": (("swiftclient",), "python-swiftclient", "pip install 'glance_store[swift]'"),
    "cinder": (("cinderclient", "os_brick"), "python-cinderclient and os-brick",
               "pip install 'glance_store[cinder]'"),
    "vmware": (("oslo_vmware",), "oslo.vmware", "pip install 'glance_store[vmware]'"),
    "rbd": (("rados", "rbd"), "python3-rados and python3-rbd",
            f"install {CEPH_BINDINGS}"),
}
# glance_store's other names of the same drivers ([glance_store] stores).
STORE_ALIASES = {"filesystem": "file", "https": "http", "vmware_datastore": "vmware"}

# DB-API module -> the package that provides it (for the pip hint).
DBAPI_PACKAGES = {"pymysql": "PyMySQL", "MySQLdb": "mysqlclient",
                  "psycopg2": "psycopg2-binary", "psycopg": "psycopg[binary]",
                  "mysql": "mysql-connector-python", "asyncpg": "asyncpg",
                  "pg8000": "pg8000"}

# oslo.messaging transport -> package of its driver's library (by module name).
TRANSPORT_PACKAGES = {"confluent_kafka": "confluent-kafka", "kombu": "kombu"}
# Notification drivers that send on the message bus (the others log or drop).
BUS_NOTIFIERS = {"messaging", "messagingv2"}


def store_type(name: str) -> str:
    """The driver type of a ``[glance_store] stores`` entry (``glance.store.rbd.Store``
    and ``rbd`` are the same)."""
    name = name.strip()
    if name.startswith("glance.store.") and name.endswith(".Store"):
        name = name[len("glance.store."):-len(".Store")]
    return STORE_ALIASES.get(name, name)


def configured_store_types(conf: cfg.ConfigOpts) -> Iterator[tuple[str, str, str]]:
    """(option, its entry, driver type) for every store glance will set up."""
    if conf.enabled_backends:
        for backend, kind in conf.enabled_backends.items():
            yield "[DEFAULT] enabled_backends", f"{backend}:{kind}", store_type(kind)
    else:
        for name in conf.glance_store.stores:
            yield "[glance_store] stores", name, store_type(name)


def _store_needs(conf: cfg.ConfigOpts) -> Iterator[Need]:
    for option, entry, kind in configured_store_types(conf):
        if kind in STORE_NEEDS:
            modules, package, install = STORE_NEEDS[kind]
            yield Need(f"{option} includes {entry} (the {kind} store)", modules, package,
                       install)


def _memcached_needs(conf: cfg.ConfigOpts) -> Iterator[Need]:
    """keystonemiddleware's token cache: python-memcached, or python-binary-memcached
    for SASL or TLS (keystonemiddleware.auth_token._cache)."""
    auth = conf.keystone_authtoken
    if paste.auth_flavor(conf) != "keystone" or not auth.memcached_servers:
        return
    for option in ("memcache_sasl_enabled", "memcache_tls_enabled"):
        if auth[option]:
            yield Need(f"[keystone_authtoken] {option} is on", ("bmemcached",),
                       "python-binary-memcached", MEMCACHED_EXTRA)
            return
    yield Need("[keystone_authtoken] memcached_servers is set", ("memcache",),
               "python-memcached", MEMCACHED_EXTRA)


def _journal_needs(conf: cfg.ConfigOpts) -> Iterator[Need]:
    if conf.use_journal:
        yield Need("[DEFAULT] use_journal is on", ("systemd.journal",), "systemd-python",
                   "install python3-systemd from your distribution, or "
                   "pip install systemd-python")


NEEDS = (_memcached_needs, _store_needs)


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def check_database(conf: cfg.ConfigOpts) -> None:
    """``[database] connection`` is a URL of a dialect SQLAlchemy knows, whose DB-API
    driver is installed. Connects to nothing (an unreachable database is no error
    here); the password is never shown."""
    option = "[database] connection"
    try:
        url = make_url(conf.database.connection)
    except (sa_exc.ArgumentError, ValueError):
        raise validate.ConfigError(
            f"{option} is not a database URL (expected e.g. "
            "mysql+pymysql://USER:PASSWORD@HOST/glance or sqlite:////PATH)") from None
    shown = url.render_as_string(hide_password=True)
    try:
        dialect = url.get_dialect()
    except sa_exc.NoSuchModuleError:
        raise validate.ConfigError(
            f"{option} = {shown}: unknown database driver {url.drivername!r} "
            "(e.g. mysql+pymysql, postgresql+psycopg2, sqlite)") from None
    try:
        dialect.import_dbapi()
    except ImportError as err:
        module = (err.name or "").partition(".")[0] or url.get_driver_name()
        package = DBAPI_PACKAGES.get(module, module)
        raise validate.ConfigError(
            f"{option} = {shown} needs the {module} module, but {package} is not "
            f"installed: pip install '{package}'") from None


def _bus_transport_option(conf: cfg.ConfigOpts) -> tuple[str, str | None] | None:
    """(option, URL) of the bus notifications go to, or None when none is used."""
    notifications = conf.oslo_messaging_notifications
    if not BUS_NOTIFIERS.intersection(notifications.driver):
        return None
    if notifications.transport_url:
        return "[oslo_messaging_notifications] transport_url", notifications.transport_url
    return "[DEFAULT] transport_url", conf.transport_url


def check_transport(conf: cfg.ConfigOpts) -> None:
    """The message-bus driver notifications use exists and its library is installed."""
    found = _bus_transport_option(conf)
    if found is None:
        return
    option, url = found
    try:
        transport = oslo_messaging.TransportURL.parse(conf, url).transport
    except oslo_messaging.InvalidTransportURL as err:
        raise validate.ConfigError(f"{option}: {err}") from None
    points = metadata.entry_points(group="oslo.messaging.drivers", name=transport)
    if not points:
        known = sorted(p.name for p in metadata.entry_points(group="oslo.messaging.drivers"))
        raise validate.ConfigError(f"{option}: unknown transport {transport!r} "
                                   f"(known: {', '.join(known)})")
    try:
        next(iter(points)).load()
    except ImportError as err:
        module = (err.name or "").partition(".")[0]
        package = TRANSPORT_PACKAGES.get(module, module)
        raise validate.ConfigError(
            f"{option} uses the {transport} transport, but {package} is not installed: "
            f"pip install {package}") from None


def _check_needs(conf: cfg.ConfigOpts, needs_functions) -> None:
    for needs in needs_functions:
        for need in needs(conf):
            missing = [module for module in need.modules if not _importable(module)]
            if missing:
                raise validate.ConfigError(f"{need.feature} but {need.package} is not "
                                        f"installed: {need.install}")


def check_logging(conf: cfg.ConfigOpts) -> None:
    """What logging needs (run before oslo.log is set up, which would raise)."""
    _check_needs(conf, (_journal_needs,))


def check(conf: cfg.ConfigOpts) -> None:
    """Raise ConfigError (one line) for the first configured feature glance-api cannot
    serve with the packages installed."""
    check_database(conf)
    check_transport(conf)
    _check_needs(conf, NEEDS)

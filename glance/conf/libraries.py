"""Options of the libraries glance-api uses, registered before the config is read.

Libraries register most of their options only when they first run (oslo.messaging
when a notifier starts, oslo.middleware when a filter is built,
keystonemiddleware when it loads its auth plugin). Registering them all up front,
from the same ``oslo.config.opts`` entry points ``oslo-config-generator`` reads
(Glance's list of namespaces), lets start-up check every value of the file and
tell an option glance does not know from one a library will read later. The
defaults Glance changes in its process (CORS headers, the notification
exchange) are changed here the same way.
"""

from importlib import metadata

import oslo_messaging
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading
from oslo_config import cfg
from oslo_log import log as logging
from oslo_middleware import cors

from glance.conf import store as store_conf

# Glance's etc/oslo-config-generator/glance-api.conf namespaces of libraries that
# glance depends on too (os_brick, oslo.limit, oslo.reports and osprofiler are not
# dependencies; see glance/conf/limits.py and profiler.py). castellan's
# [key_manager], [barbican], [barbican_service_user] and [vault] serve image
# signature verification (glance/signatures.py).
NAMESPACES = (
    "castellan.config",
    "oslo.concurrency",
    "oslo.messaging",
    "oslo.db",
    "oslo.policy",
    "keystonemiddleware.auth_token",
    "oslo.log",
    "oslo.middleware.cors",
    "oslo.middleware.healthcheck",
    "oslo.middleware.http_proxy_to_wsgi",
)
CONTROL_EXCHANGE = "glance"
AUTH_GROUPS = ("keystone_authtoken", "oslo_limit")

# Glance's [cors] defaults (glance.common.config.set_cors_middleware_defaults).
CORS_DEFAULTS = {
    "allow_headers": ["Content-MD5", "X-Image-Meta-Checksum", "X-Storage-Token",
                      "Accept-Encoding", "X-Auth-Token", "X-Identity-Status", "X-Roles",
                      "X-Service-Catalog", "X-User-Id", "X-Tenant-Id",
                      "X-OpenStack-Request-ID"],
    "expose_headers": ["X-Image-Meta-Checksum", "X-Auth-Token", "X-Subject-Token",
                       "X-Service-Token", "X-OpenStack-Request-ID"],
    "allow_methods": ["GET", "PUT", "POST", "DELETE", "PATCH"],
}


def namespace_opts(namespace: str) -> list[tuple[str | None, list[cfg.Opt]]]:
    """The (group, options) pairs of one ``oslo.config.opts`` entry point."""
    points = metadata.entry_points(group="oslo.config.opts", name=namespace)
    pairs = []
    for point in points:
        for group, opts in point.load()():
            pairs.append((getattr(group, "name", group), list(opts)))
    return pairs


def _register_each(conf: cfg.ConfigOpts, group: str | None, opts: list[cfg.Opt]) -> None:
    for opt in opts:
        try:
            conf.register_opt(opt, group=group)
        except cfg.DuplicateOptError:
            pass  # the library registered it already, with a default glance changed


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register every option of NAMESPACES and Glance's library defaults."""
    # Defaults first: the libraries change their own option objects, which their
    # entry points then copy.
    cors.set_defaults(**CORS_DEFAULTS)
    oslo_messaging.set_transport_defaults(CONTROL_EXCHANGE)
    logging.register_options(conf)  # before the namespaces: its command-line options
    for namespace in NAMESPACES:
        for group, opts in namespace_opts(namespace):
            _register_each(conf, group, opts)


def _auth_plugin_opts(conf: cfg.ConfigOpts, group: str) -> None:
    """Register the options of the keystoneauth plugin ``[group] auth_type`` names."""
    section = conf[group].auth_section or group
    plugin = conf[section].auth_type if section in conf else None
    if not plugin:
        return
    try:
        opts = loading.get_auth_plugin_conf_options(plugin)
    except ks_exceptions.NoMatchingPlugin:
        if group == "keystone_authtoken" and "keystone" in (conf.paste_deploy.flavor or ""):
            raise ValueError(f"[{section}] auth_type = {plugin}: no such keystoneauth "
                             f"plugin (for example: password, v3password, token)") from None
        return
    _register_each(conf, section, opts)


def register_dynamic_opts(conf: cfg.ConfigOpts) -> None:
    """Options that depend on the configuration: per-store sections, auth plugins.

    Raises ValueError (one line) when ``[keystone_authtoken] auth_type`` names no
    plugin while tokens are validated.
    """
    if conf.enabled_backends:
        store_conf.register_backend_opts(conf)
    for group in AUTH_GROUPS:
        _auth_plugin_opts(conf, group)

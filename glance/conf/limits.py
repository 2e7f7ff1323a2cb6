"""Keystone unified limits: ``[DEFAULT] use_keystone_limits`` and ``[oslo_limit]``.

With ``use_keystone_limits = True`` glance reads each project's limits
(``image_size_total``, ``image_stage_total``, ``image_count_total``,
``image_count_uploading``) from Keystone through oslo.limit and enforces them
(glance/keystone_limits.py); ``user_storage_quota`` is then not applied. The
``[oslo_limit]`` options are oslo.limit's own (its endpoint options, keystoneauth's
session, adapter and auth options), registered from oslo.limit's definitions so
that oslo.limit finds them as it expects.
"""

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading
from oslo_config import cfg
from oslo_limit import limit as _limit  # noqa: F401 - registers its options on import,
from oslo_limit import opts as limit_opts  # which must happen before the config is read

from glance.conf import validate

GROUP = "oslo_limit"

default_opts = [
    cfg.BoolOpt(
        "use_keystone_limits",
        default=False,
        help="""
Enforce the per-project limits registered in Keystone (unified limits, read
with oslo.limit through ``[oslo_limit]``): ``image_size_total`` and
``image_stage_total`` (MiB), ``image_count_total`` and
``image_count_uploading``. A limit that is not registered counts as 0, so
register every one before turning this on. When on, ``user_storage_quota`` is
not applied; the other ``image_*_quota`` options still are.

Related options:
    * ``[oslo_limit] endpoint_id`` (or the endpoint_service_* options)
    * ``[oslo_limit]`` auth options (a user allowed to read limits)
"""),
]


def endpoint_opts() -> list[cfg.Opt]:
    """oslo.limit's own ``endpoint_*`` options (copies equal to its definitions)."""
    return [opt for opt in limit_opts.list_opts()[0][1] if opt.dest.startswith("endpoint_")]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register ``use_keystone_limits`` and [oslo_limit] (before the config is read)."""
    conf.register_opts(default_opts)
    loading.register_session_conf_options(conf, GROUP)
    loading.register_adapter_conf_options(conf, GROUP, include_deprecated=False)
    loading.register_auth_conf_options(conf, GROUP)
    conf.register_opts(endpoint_opts(), group=GROUP)


def list_opts() -> list:
    """(group, options) pairs for the sample config generator ([oslo_limit] only:
    ``use_keystone_limits`` is listed with [DEFAULT] by glance/conf/opts.py)."""
    return [(GROUP, endpoint_opts() + loading.get_session_conf_options()
             + loading.get_auth_common_conf_options()
             + loading.get_adapter_conf_options(include_deprecated=False))]


def check(conf: cfg.ConfigOpts) -> None:
    """Start-up check of ``[oslo_limit]`` when the limits are on: an endpoint to find
    and a keystoneauth plugin that loads (one-line ConfigError otherwise)."""
    if not conf.use_keystone_limits:
        return
    group = conf.oslo_limit
    if not (group.endpoint_id or group.endpoint_service_type or group.endpoint_service_name):
        raise validate.ConfigError(
            "[DEFAULT] use_keystone_limits = True needs [oslo_limit] endpoint_id (or "
            "endpoint_service_type / endpoint_service_name) to find this service's limits")
    if not group.auth_type and not group.auth_section:
        raise validate.ConfigError(
            "[DEFAULT] use_keystone_limits = True needs [oslo_limit] auth_type (for "
            "example: password) and the credentials of a user who may read limits")
    try:
        plugin = loading.load_auth_from_conf_options(conf, "oslo_limit")
    except ks_exceptions.NoMatchingPlugin:
        raise validate.ConfigError(
            f"[oslo_limit] auth_type = {group.auth_type}: no such keystoneauth plugin "
            "(for example: password, v3password)") from None
    except ks_exceptions.MissingRequiredOptions as err:
        names = ", ".join(opt.dest for opt in err.options)
        raise validate.ConfigError(
            f"[oslo_limit] auth_type = {group.auth_type} needs: {names}") from None
    if plugin is None:
        raise validate.ConfigError("[oslo_limit] auth_type is not set")

"""``[oslo_limit]``: where Glance finds its Keystone unified limits.

Glance reads these (through oslo.limit) when ``[DEFAULT] use_keystone_limits``
is on. glance does not read Keystone limits (``use_keystone_limits = True``
refuses to start) and does not depend on oslo.limit; it registers the same
options Glance's process holds (oslo.limit's endpoint options and
keystoneauth's session, adapter and auth options, whose definitions come from
keystoneauth itself) so that a Glance configuration parses as in Glance.
"""

from keystoneauth1 import loading
from oslo_config import cfg

GROUP = "oslo_limit"
INTERFACES = ("public", "publicURL", "internal", "internalURL", "admin", "adminURL")

endpoint_opts = [
    cfg.StrOpt("endpoint_id", help="oslo.limit: this service's endpoint id in Keystone."),
    cfg.StrOpt("endpoint_service_name",
               help="oslo.limit: service name to discover the endpoint by."),
    cfg.StrOpt("endpoint_service_type",
               help="oslo.limit: service type to discover the endpoint by."),
    cfg.StrOpt("endpoint_region_name", help="oslo.limit: region of the endpoint."),
    cfg.StrOpt("endpoint_interface", default="public", choices=INTERFACES,
               help="oslo.limit: interface to discover the endpoint by."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register [oslo_limit] as Glance's process does (before the config is read)."""
    loading.register_session_conf_options(conf, GROUP)
    loading.register_adapter_conf_options(conf, GROUP, include_deprecated=False)
    loading.register_auth_conf_options(conf, GROUP)
    conf.register_opts(endpoint_opts, group=GROUP)


def list_opts() -> list:
    """(group, options) pairs for the sample config generator."""
    return [(GROUP, endpoint_opts + loading.get_session_conf_options()
             + loading.get_auth_common_conf_options()
             + loading.get_adapter_conf_options(include_deprecated=False))]

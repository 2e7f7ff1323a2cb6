"""``[import_filtering_opts]``: which URLs the API may fetch or accept on a user's behalf.

Used by web-download, legacy import tasks and (for http locations) location
adds. Glance's option names. On top of these lists, addresses that are
loopback, link-local (cloud metadata services live there), unspecified,
multicast or reserved are refused unless the host or the address is listed in
``allowed_hosts``.
"""

from oslo_config import cfg

GROUP = "import_filtering_opts"

opts = [
    cfg.ListOpt("allowed_schemes", default=["http", "https"], help="""
URL schemes allowed. When set, ``disallowed_schemes`` is ignored.

Possible values:
    * A list of schemes, e.g. ``http,https``
    * Empty: any scheme not in ``disallowed_schemes``
"""),
    cfg.ListOpt("disallowed_schemes", default=[], help="""
URL schemes refused (only used when ``allowed_schemes`` is empty).
"""),
    cfg.ListOpt("allowed_hosts", default=[], help="""
Host names or IP addresses allowed. When set, only these hosts are allowed
(``disallowed_hosts`` is ignored), and listing a loopback or link-local host
here is the way to allow it.
"""),
    cfg.ListOpt("disallowed_hosts", default=[], help="""
Host names or IP addresses refused (only used when ``allowed_hosts`` is empty).
"""),
    cfg.ListOpt("allowed_ports", default=["80", "443"], help="""
Ports allowed (a URL without a port uses its scheme's default port). When set,
``disallowed_ports`` is ignored. Empty: any port not in ``disallowed_ports``.
"""),
    cfg.ListOpt("disallowed_ports", default=[], help="""
Ports refused (only used when ``allowed_ports`` is empty).
"""),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts, group=GROUP)


def list_opts() -> list:
    return [(GROUP, opts)]

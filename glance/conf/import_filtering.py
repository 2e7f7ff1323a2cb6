"""``[import_filtering_opts]``: which URLs the API may fetch or accept on a user's behalf.

Used by web-download, legacy import tasks and (for http locations) location
adds. Glance's option names. On top of these lists, addresses that are
loopback, link-local (cloud metadata services live there), unspecified,
multicast or reserved are refused unless the host or the address is listed in
``allowed_hosts``.
"""

from oslo_config import cfg

from glance.conf.types import BoundedListOpt

GROUP = "import_filtering_opts"
_SCHEME = cfg.types.String(quotes=True)
_PORT = cfg.types.Integer(min=1, max=65535)

_SYNTAX = """
Written as Glance writes it, in brackets: ``[a,b]`` (``[]`` for an empty
list); the brackets may be left out.
"""

opts = [
    BoundedListOpt("allowed_schemes", item_type=_SCHEME, default=["http", "https"],
                   help="""
URL schemes allowed. When set, ``disallowed_schemes`` is ignored.
""" + _SYNTAX + """
Possible values:
    * A list of schemes, e.g. ``[http,https]``
    * ``[]``: any scheme not in ``disallowed_schemes``
"""),
    BoundedListOpt("disallowed_schemes", item_type=_SCHEME, default=[], help="""
URL schemes refused (only used when ``allowed_schemes`` is empty).
""" + _SYNTAX),
    BoundedListOpt("allowed_hosts", item_type=cfg.types.HostAddress(), default=[],
                   help="""
Host names or IP addresses allowed, e.g. ``[127.0.0.1,images.example.com]``.
When set, only these hosts are allowed (``disallowed_hosts`` is ignored), and
listing a loopback or link-local host here is the way to allow it.
""" + _SYNTAX),
    BoundedListOpt("disallowed_hosts", item_type=cfg.types.HostAddress(), default=[],
                   help="""
Host names or IP addresses refused (only used when ``allowed_hosts`` is empty).
""" + _SYNTAX),
    BoundedListOpt("allowed_ports", item_type=_PORT, default=[80, 443], help="""
Ports allowed (a URL without a port uses its scheme's default port), e.g.
``[80,443]``. When set, ``disallowed_ports`` is ignored; ``[]``: any port not in
``disallowed_ports``.
""" + _SYNTAX),
    BoundedListOpt("disallowed_ports", item_type=_PORT, default=[], help="""
Ports refused (only used when ``allowed_ports`` is empty).
""" + _SYNTAX),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register [import_filtering_opts]."""
    conf.register_opts(opts, group=GROUP)


def list_opts() -> list:
    """Options for the sample config generator."""
    return [(GROUP, opts)]

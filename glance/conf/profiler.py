"""``[profiler]`` (and osprofiler's ``[profiler_jaeger]``, ``[profiler_otlp]``).

Glance registers osprofiler's options; glance does not profile requests and
does not depend on osprofiler, so it declares the same options itself (same
names, types and defaults) to parse a Glance configuration and to report at
start-up any value set here (glance/conf/unsupported.py).
"""

from oslo_config import cfg

try:  # osprofiler registers these itself when it is imported: use its definitions then
    from osprofiler import opts as osprofiler_opts
except ImportError:
    osprofiler_opts = None

_NOT_SUPPORTED = "\nglance does not profile requests; a value is reported at start-up.\n"

profiler_opts = [
    cfg.BoolOpt("enabled", default=False, deprecated_name="profiler_enabled",
                help="osprofiler: trace requests." + _NOT_SUPPORTED),
    cfg.BoolOpt("trace_sqlalchemy", default=False,
                help="osprofiler: trace database calls." + _NOT_SUPPORTED),
    cfg.BoolOpt("trace_requests", default=False,
                help="osprofiler: trace outgoing HTTP calls." + _NOT_SUPPORTED),
    cfg.StrOpt("hmac_keys", default="SECRET_KEY", secret=True,
               help="osprofiler: keys that sign trace requests." + _NOT_SUPPORTED),
    cfg.StrOpt("connection_string", default="messaging://",
               help="osprofiler: where traces are sent." + _NOT_SUPPORTED),
    cfg.StrOpt("es_doc_type", default="notification",
               help="osprofiler: Elasticsearch document type." + _NOT_SUPPORTED),
    cfg.StrOpt("es_scroll_time", default="2m",
               help="osprofiler: Elasticsearch scroll time." + _NOT_SUPPORTED),
    cfg.IntOpt("es_scroll_size", default=10000,
               help="osprofiler: Elasticsearch scroll size." + _NOT_SUPPORTED),
    cfg.FloatOpt("socket_timeout", default=0.1,
                 help="osprofiler: Redis socket timeout (seconds)." + _NOT_SUPPORTED),
    cfg.StrOpt("sentinel_service_name", default="mymaster",
               help="osprofiler: Redis Sentinel service name." + _NOT_SUPPORTED),
    cfg.BoolOpt("filter_error_trace", default=False,
                help="osprofiler: keep traces with errors apart." + _NOT_SUPPORTED),
]

jaeger_opts = [
    cfg.StrOpt("service_name_prefix", deprecated_for_removal=True,
               deprecated_reason="osprofiler dropped its Jaeger driver.",
               help="osprofiler: Jaeger service name prefix." + _NOT_SUPPORTED),
    cfg.DictOpt("process_tags", default={}, deprecated_for_removal=True,
                deprecated_reason="osprofiler dropped its Jaeger driver.",
                help="osprofiler: Jaeger process tags." + _NOT_SUPPORTED),
]

otlp_opts = [
    cfg.StrOpt("service_name_prefix",
               help="osprofiler: OTLP service name prefix." + _NOT_SUPPORTED),
]

GROUPS = (("profiler", profiler_opts), ("profiler_jaeger", jaeger_opts),
          ("profiler_otlp", otlp_opts))


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the profiler groups (osprofiler's own definitions when it is installed)."""
    if osprofiler_opts is not None:
        # Its import registered [profiler_jaeger] and [profiler_otlp] on cfg.CONF.
        osprofiler_opts.set_defaults(conf)
        return
    for group, opts in GROUPS:
        conf.register_opts(opts, group=group)


def list_opts() -> list:
    """(group, options) pairs for the sample config generator."""
    return list(GROUPS)

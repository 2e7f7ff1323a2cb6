"""Options of Glance features glance does not have (yet): ``[DEFAULT]``, ``[wsgi]``,
``[keystone_authtoken] timeout``.

Registered with Glance's names, types and defaults so that a Glance
configuration parses exactly as in Glance (a bad value is a start-up error),
and so that a value set here is reported at start-up, as a warning or, when
ignoring it would weaken security, as a refusal to start
(glance/conf/unsupported.py holds that table). When one of these features is
implemented, its options move to the module of the feature.
"""

from oslo_config import cfg

default_opts = [
    cfg.IntOpt(
        "max_request_id_length",
        default=64,
        min=0,
        help="""
Glance's limit on the length of a request id sent by a client. glance keeps the
request ids oslo.middleware generates; another value is reported at start-up
as not supported.
"""),
    cfg.IntOpt(
        "http_retries",
        default=3,
        help="""
Glance's number of retries of its own HTTP calls (location imports). glance
does not retry them; another value is reported at start-up as not supported.
"""),
    cfg.HostAddressOpt(
        "pydev_worker_debug_host",
        sample_default="localhost",
        help="""
Glance's pydev debugger host. Not supported by glance; a value is reported at
start-up.
"""),
    cfg.PortOpt(
        "pydev_worker_debug_port",
        default=5678,
        help="""
Glance's pydev debugger port. Not supported by glance; another value is
reported at start-up.
"""),
    cfg.StrOpt(
        "metadata_encryption_key",
        secret=True,
        deprecated_for_removal=True,
        deprecated_since="Dalmatian",
        deprecated_reason="Glance deprecated the encryption of location URLs.",
        help="""
Glance's AES key for encrypting image location URLs in the database. glance
stores locations unencrypted and cannot read encrypted ones: when this is set
glance-api refuses to start.
"""),
    cfg.StrOpt(
        "digest_algorithm",
        default="sha256",
        deprecated_for_removal=True,
        deprecated_since="Dalmatian",
        deprecated_reason="Without effect since Glance dropped its own SSL support.",
        help="""
Without effect, in Glance as in glance; accepted so that older Glance
configurations keep parsing.
"""),
]

wsgi_opts = [
    cfg.IntOpt(
        "task_pool_threads",
        default=16,
        min=1,
        help="""
Glance's size of the thread pool that runs tasks under a WSGI server. glance's
tasks run on ``[taskflow_executor] max_workers`` threads; another value is
reported at start-up as not supported.
"""),
    cfg.StrOpt(
        "python_interpreter",
        help="""
Glance's Python interpreter for its helper processes. glance starts none; a
value is reported at start-up as not supported.
"""),
]

authtoken_opts = [
    cfg.IntOpt(
        "timeout",
        help="""
Glance's timeout (seconds) of the Keystone calls that renew a user's token
with a trust during long uploads to Swift. glance does not renew tokens this
way; a value is reported at start-up as not supported.
"""),
]

GROUPS = ((None, default_opts), ("wsgi", wsgi_opts), ("keystone_authtoken", authtoken_opts))


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the options of the features glance does not have."""
    for group, opts in GROUPS:
        conf.register_opts(opts, group=group)


def list_opts() -> list:
    """(group, options) pairs for the sample config generator."""
    return list(GROUPS)

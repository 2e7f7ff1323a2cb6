"""Options of the standalone ``glance-api`` server and where state lives."""

import os

from oslo_config import cfg

_default_state = os.path.join(os.path.expanduser("~"), ".local", "share", "glance")

opts = [
    cfg.HostAddressOpt(
        "bind_host",
        default="127.0.0.1",
        help="""
Address the standalone ``glance-api`` server listens on.

Possible values:
    * An IPv4 or IPv6 address, or a host name

Related options:
    * bind_port
"""),
    cfg.PortOpt(
        "bind_port",
        default=9292,
        help="""
Port the standalone ``glance-api`` server listens on.

Related options:
    * bind_host
"""),
    cfg.IntOpt(
        "workers",
        min=0,
        help="""
Number of worker processes of the standalone ``glance-api`` server.

Possible values:
    * 0 or unset: one worker per CPU core (at most 8)
    * Any positive integer
"""),
    cfg.IntOpt(
        "threads_per_worker",
        default=8,
        min=1,
        help="""
Request threads in each worker process of the standalone server. Slow
uploads and downloads each hold one thread, so this bounds how many run at
once per worker.
"""),
    cfg.IntOpt(
        "client_socket_timeout",
        default=900,
        min=0,
        help="""
Seconds a client connection of the standalone server may stall (no bytes sent
or read) once its request headers are in. A client that stops sending a body
it declared gets 408 and the request thread is free again. 0 means no limit.

Related options:
    * header_read_timeout
"""),
    cfg.IntOpt(
        "header_read_timeout",
        default=30,
        min=1,
        help="""
Seconds a client of the standalone server has, in all, to send a request's
line and headers, counted from its first byte. A slower client (such as a
"slowloris" sending a byte now and then) is disconnected, so it cannot hold a
request thread. Also bounds (at most 30 s) how long a new or kept-alive
connection may stay silent before it is closed.

Related options:
    * client_socket_timeout
"""),
    cfg.IntOpt(
        "backlog",
        default=4096,
        min=1,
        help="Number of pending connections the listening socket queues."),
    cfg.IntOpt(
        "upload_recovery_interval",
        default=60,
        min=0,
        help="""
Under Apache mod_wsgi or uwsgi: how often (seconds) each application
process looks for uploads whose process died (killed, out of memory) and
puts their images back from ``saving`` to ``queued``, removing the partial
data. 0 turns the periodic check off; a new upload attempt on such an image
still resets it at once. The standalone ``glance-api`` does this in its
master process whenever a worker exits, whatever this option says.

Related options:
    * state_path: markers of running uploads live in ``$state_path/uploads``
"""),
    cfg.StrOpt(
        "state_path",
        default=_default_state,
        sample_default="~/.local/share/glance",
        help="""
Directory for the service's local state. The embedded defaults keep the
SQLite database (``$state_path/glance.sqlite``) and the file store
(``$state_path/images``) here. Created on start if missing.
"""),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the server options in [DEFAULT]."""
    conf.register_opts(opts)


def list_opts() -> list:
    """Options for the sample config generator."""
    return [(None, opts)]

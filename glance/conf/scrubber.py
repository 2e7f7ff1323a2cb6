"""Options of the scrubber, which reclaims the data of images deleted with delayed delete.

Same names, group ([DEFAULT]), types, bounds and defaults as OpenStack Glance:

* ``scrub_time`` and ``scrub_pool_size`` are read by every glance process (they
  also appear in the glance-api sample), as Glance registers them;
* ``wakeup_time`` belongs to the ``glance-scrubber`` command only;
* ``daemon`` (``-D``) and ``restore`` are its command-line switches.

``delayed_delete`` itself lives with the store options (glance/conf/store.py).
"""

from oslo_config import cfg

from glance.conf import store

opts = [
    cfg.IntOpt(
        "scrub_time",
        default=0,
        min=0,
        help="""
Seconds a deleted image spends in ``pending_delete`` before the scrubber may
remove its data.

With delayed delete on, deleting an image keeps its data in the stores; the
scrubber removes the data of images deleted at least this long ago, on its next
run. A longer delay leaves more time to restore an image deleted by mistake
(``glance-scrubber --restore``), and keeps the space in use for longer.

Possible values:
    * 0 (the default): the next scrubber run reclaims every pending image
    * Any positive number of seconds

Related options:
    * delayed_delete
    * wakeup_time
"""),
    cfg.IntOpt(
        "scrub_pool_size",
        default=1,
        min=1,
        help="""
How many images one scrubber run reclaims at the same time.

Each image's locations are removed one after the other; this many images are
worked on in parallel threads. 1 (the default) scrubs one image at a time.

Possible values:
    * Any positive integer

Related options:
    * delayed_delete
"""),
]

cmd_opts = [
    cfg.IntOpt(
        "wakeup_time",
        default=300,
        min=0,
        help="""
Seconds between two runs of ``glance-scrubber --daemon``.

Each run reclaims the data of every image whose ``scrub_time`` has passed. Run
without ``--daemon``, the scrubber makes one run and exits (for cron or a
systemd timer) and this option is not used.

Possible values:
    * Any non-negative integer (0: the next run starts as soon as one ends)

Related options:
    * daemon
    * scrub_time
"""),
]

cli_opts = [
    cfg.BoolOpt(
        "daemon",
        short="D",
        default=False,
        help="""
Keep running and scrub every ``wakeup_time`` seconds, until SIGTERM or SIGINT.

Without it the scrubber makes one run and exits.

Related options:
    * wakeup_time
"""),
    cfg.StrOpt(
        "restore",
        metavar="<IMAGE_ID>",
        help="""
Put a ``pending_delete`` image back to ``active`` (an image deleted by mistake),
with the locations whose data the scrubber has not removed yet.

Possible values:
    * The id of an image in ``pending_delete``
"""),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the options every glance process reads."""
    conf.register_opts(opts)


def register_command_opts(conf: cfg.ConfigOpts) -> None:
    """Register the ``glance-scrubber`` command's own options (before parsing)."""
    conf.register_opts(cmd_opts)
    conf.register_cli_opts(cli_opts)


def unregister_command_opts(conf: cfg.ConfigOpts) -> None:
    """Undo :func:`register_command_opts` (after a run, so a test can run it again)."""
    conf.unregister_opts(cli_opts)
    conf.unregister_opts(cmd_opts)


def list_opts() -> list:
    """The ``glance.scrubber`` sample namespace: what glance-scrubber.conf may set."""
    delayed_delete = [opt for opt in store.opts if opt.name == "delayed_delete"]
    return [(None, delayed_delete + opts + cmd_opts + cli_opts)]

"""[DEFAULT] options about notifications (the bus itself is oslo.messaging's
``[oslo_messaging_notifications]`` group: ``driver``, ``transport_url``, ``topics``)."""

from oslo_config import cfg

opts = [
    cfg.StrOpt(
        "default_publisher_id",
        default="image.localhost",
        help="""
Publisher id of the notifications this service sends.

Consumers see it as ``publisher_id`` of every message. Usually
``image.<host name>``.

Possible values:
    * Any string, for example ``image.node1``

Related options:
    * [oslo_messaging_notifications] driver
"""),
    cfg.ListOpt(
        "disabled_notifications",
        default=[],
        help="""
Notifications that are never sent.

Each entry is an event type (``image.create``), an event group, which
switches off every event type it starts (``image``, ``image.member``,
``task``, ``metadef_namespace``, ``metadef_object``, ``metadef_property``,
``metadef_resource_type``, ``metadef_tag``), or a shell-style pattern
(``image.*``, ``metadef_*``).

Possible values:
    * A comma-separated list of event types, groups or patterns

Related options:
    * [oslo_messaging_notifications] driver
"""),
    cfg.IntOpt(
        "notification_queue_size",
        default=1000,
        min=1,
        help="""
How many notifications each API process holds while the message bus is slow
or unreachable.

Notifications are sent by a background thread, so API calls never wait for
the bus. When this many are waiting, newer ones are dropped (with a warning in
the log) until the bus catches up.

Related options:
    * [oslo_messaging_notifications] retry
"""),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the notification options in [DEFAULT]."""
    conf.register_opts(opts)


def list_opts() -> list:
    """Options for the sample config generator."""
    return [(None, opts)]

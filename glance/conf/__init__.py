"""The one global configuration object; every option group is registered here once."""

from oslo_config import cfg

from glance.conf import (
    api,
    database,
    image_cache,
    image_format,
    image_import,
    import_filtering,
    notifications,
    paste,
    scrubber,
    server,
    store,
)

CONF = cfg.CONF

for _module in (server, api, image_format, paste, database, store, image_import,
                import_filtering, notifications, image_cache, scrubber):
    _module.register_opts(CONF)

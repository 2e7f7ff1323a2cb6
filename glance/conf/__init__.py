"""The one global configuration object; every option group is registered here once.

Glance's own options come first, then every option of the libraries glance-api
uses (glance/conf/libraries.py), so that start-up can check them all.
"""

from oslo_config import cfg

from glance.conf import (
    api,
    database,
    hierarchy,
    image_cache,
    image_format,
    image_import,
    import_filtering,
    import_plugins,
    libraries,
    limits,
    not_implemented,
    notifications,
    paste,
    profiler,
    scrubber,
    server,
    store,
    tasks,
)

CONF = cfg.CONF

MODULES = (server, api, image_format, paste, database, store, image_import,
           import_filtering, notifications, image_cache, tasks, import_plugins,
           not_implemented, profiler, limits, hierarchy, scrubber, libraries)

for _module in MODULES:
    _module.register_opts(CONF)

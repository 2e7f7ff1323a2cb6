"""``oslo-config-generator`` entry point (``glance.api``): every option glance registers.

The libraries' own groups come from their namespaces, listed in
etc/oslo-config-generator/glance-api.conf (glance/conf/libraries.py registers
the same namespaces at start-up).
"""

import itertools

from glance.conf import (
    api,
    database,
    hierarchy,
    image_cache,
    image_format,
    image_import,
    import_filtering,
    import_plugins,
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


def list_opts() -> list:
    """Return (group, options) pairs, [DEFAULT] first, then groups alphabetically."""
    default_opts = list(itertools.chain(server.opts, api.opts, store.opts,
                                        image_import.default_opts,
                                        notifications.opts, image_cache.opts,
                                        scrubber.opts, limits.default_opts, hierarchy.opts,
                                        not_implemented.default_opts))
    groups = [(None, default_opts)]
    groups += paste.list_opts() + image_format.list_opts() + database.list_opts()
    groups += image_import.list_opts()[1:] + import_filtering.list_opts()
    groups += tasks.list_opts() + import_plugins.list_opts() + profiler.list_opts()
    groups += limits.list_opts() + not_implemented.list_opts()[1:]
    return [groups[0]] + sorted(groups[1:], key=lambda item: str(item[0]))

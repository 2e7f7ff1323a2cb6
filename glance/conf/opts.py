"""``oslo-config-generator`` entry point: every option glance registers."""

import itertools

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


def list_opts() -> list:
    """Return (group, options) pairs, [DEFAULT] first, then groups alphabetically."""
    default_opts = list(itertools.chain(server.opts, api.opts, store.opts,
                                        image_import.default_opts,
                                        notifications.opts, image_cache.opts,
                                        scrubber.opts))
    groups = [(None, default_opts)]
    groups += paste.list_opts() + image_format.list_opts() + database.list_opts()
    groups += image_import.list_opts()[1:] + import_filtering.list_opts()
    return [groups[0]] + sorted(groups[1:], key=lambda item: str(item[0]))

"""[DEFAULT] image cache options (Glance's names): where cached image data lives,
how big the cache may grow and how often queued images are fetched.

The cache is on when ``image_cache_dir`` is set.
"""

from oslo_config import cfg

opts = [
    cfg.StrOpt(
        "image_cache_dir",
        help="""
Directory of the local image cache. Setting it turns the cache on: the
``/v2/cache`` API answers, downloads of cached images are served from this
directory, full downloads of images from remote stores are kept here, and the
prefetcher inside every glance-api worker fetches queued images.

Cached files are named by image id; ``incomplete/`` holds files being written,
``queue/`` one empty file per queued image, ``invalid/`` files that failed
verification; the bookkeeping database is ``image_cache_sqlite_db``. A Glance
cache directory (sqlite driver layout) can be reused as it is.

Possible values:
    * A path writable by glance-api
    * Unset: no image cache (the ``/v2/cache`` API answers 404)

Related options:
    * image_cache_max_size, image_cache_stall_time, cache_prefetcher_interval
"""),
    cfg.StrOpt(
        "image_cache_sqlite_db",
        default="cache.db",
        deprecated_for_removal=True,
        deprecated_since="Caracal",
        deprecated_reason="Glance replaces the sqlite cache driver with "
                          "centralized_db; glance keeps using this file.",
        help="""
File name of the cache's bookkeeping database (SQLite), relative to
``image_cache_dir``: size, hits and access times of the cached images.

Related options:
    * image_cache_dir
"""),
    cfg.StrOpt(
        "image_cache_driver",
        default="centralized_db",
        ignore_case=True,
        choices=[
            ("sqlite", "Bookkeeping in a SQLite file inside image_cache_dir."),
            ("xattr", "Accepted for Glance compatibility; served by the SQLite "
                      "bookkeeping."),
            ("centralized_db", "Bookkeeping in the shared database (Glance's "
                               "cached_images and node_reference tables), keyed by "
                               "worker_self_reference_url."),
        ],
        help="""
How the cache keeps track of what it holds. The cached data always stays in
the node's ``image_cache_dir``. With ``centralized_db`` (the default, as in
Glance) and ``worker_self_reference_url`` set, every node records its cached
images in the shared database, so ``GET /v2/cache/nodes/{image_id}`` on any
node lists the nodes caching an image; without ``worker_self_reference_url``
(where Glance refuses to start) the node keeps its bookkeeping in its SQLite
file ``image_cache_sqlite_db``. ``sqlite`` and ``xattr`` use that file too.

Related options:
    * worker_self_reference_url, image_cache_sqlite_db
"""),
    cfg.IntOpt(
        "image_cache_max_size",
        default=10 * 1024 ** 3,
        min=0,
        help="""
Size, in bytes, the image cache is pruned back to (default 10 GiB).

After each prefetch round and each image added to the cache, the least
recently used images are removed until the cache holds at most this many
bytes. An image larger than the limit is removed again right after it is
cached.

Possible values:
    * Any non-negative integer (0 keeps nothing)

Related options:
    * image_cache_dir
"""),
    cfg.IntOpt(
        "image_cache_stall_time",
        default=86400,
        min=0,
        help="""
Seconds an incomplete cache file (a download into the cache that stopped) may
stay in ``incomplete/`` before the periodic clean-up removes it. Files still
being written are never removed.

Related options:
    * cache_prefetcher_interval
"""),
    cfg.IntOpt(
        "cache_prefetcher_interval",
        default=300,
        min=1,
        help="""
Seconds between two runs of the periodic cache job in each glance-api worker:
fetch queued images from their store into the cache, prune the cache to
``image_cache_max_size`` and remove stalled incomplete files. Queueing an
image through the API also starts a run in the worker that took the request.

Related options:
    * image_cache_dir, image_cache_max_size, image_cache_stall_time
"""),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the image cache options in [DEFAULT]."""
    conf.register_opts(opts)

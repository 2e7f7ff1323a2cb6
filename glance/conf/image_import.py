"""Tasks and interoperable image import options.

Glance's names and sections: ``[DEFAULT] enabled_import_methods``, ``[task]
task_time_to_live``, ``[taskflow_executor] max_workers`` and the staging store
``[os_glance_staging_store] filesystem_store_datadir``. ``[image_import_opts]``
adds the web-download transfer limits (which URLs are allowed at all is
``[import_filtering_opts]``, see glance/conf/import_filtering.py).
"""

import urllib.parse

from oslo_config import cfg

from glance.conf import validate
from glance.conf.types import BoundedListOpt

IMPORT_METHODS = ("glance-direct", "web-download", "copy-image", "glance-download")
IMPORT_PLUGINS = ("image_conversion", "image_decompression", "inject_image_metadata",
                  "no_op")

default_opts = [
    BoundedListOpt(
        "enabled_import_methods",
        item_type=cfg.types.String(quotes=True, choices=IMPORT_METHODS),
        default=["glance-direct", "web-download", "copy-image"],
        help="""
Import methods offered by ``POST /v2/images/{id}/import`` and listed by
``GET /v2/info/import``, in brackets as Glance writes them:
``[glance-direct,web-download,copy-image]`` (the brackets may be left out).

Possible values:
    * ``glance-direct``: import data staged with ``PUT /v2/images/{id}/stage``
    * ``web-download``: the API fetches the data from a URL the user gives
      (filtered by ``[import_filtering_opts]``)
    * ``copy-image``: copy an active image's data into more stores (only offered
      when several stores are enabled with ``enabled_backends``)
    * ``glance-download``: the API fetches an image from the Glance of another
      Keystone region (found in the caller's service catalog, called with the
      caller's token); needs keystonemiddleware. Properties carried over:
      ``[glance_download_properties] extra_properties``

Related options:
    * [DEFAULT] enabled_backends
    * [import_filtering_opts]
    * [glance_download_properties] extra_properties
"""),
    cfg.StrOpt(
        "node_staging_uri",
        default="file:///tmp/staging/",
        help="""
Glance's single-store staging area, a ``file://`` URI. When set in the
configuration file (and ``[os_glance_staging_store] filesystem_store_datadir``
is not), data staged with ``PUT /v2/images/{id}/stage`` is kept in its
directory; otherwise in ``$state_path/staging``.

Related options:
    * [os_glance_staging_store] filesystem_store_datadir
"""),
    cfg.StrOpt(
        "worker_self_reference_url",
        help="""
The URL by which the other API nodes reach this one directly (not through the
load balancer), e.g. ``http://10.0.0.11:9292``. With several nodes each sets
its own. Data staged with ``PUT /v2/images/{id}/stage`` stays in this node's
staging directory and the image records this URL (the hidden property
``os_glance_stage_host``); an import or delete call for that image reaching
another node is forwarded to this one with the caller's credentials. The
``centralized_db`` image cache records which node caches which image under
this URL (``GET /v2/cache/nodes/{image_id}``), and an upload left in
``saving`` by a node that no longer answers is reset by the others.

Possible values:
    * An ``http://`` or ``https://`` URL of this node
    * Unset: ``public_endpoint`` is used; when that is unset too, nothing is
      forwarded (every node must then share the staging directory)
    * Anything else stops glance-api at start-up

Related options:
    * public_endpoint, image_cache_driver
"""),
]

staging_opts = [
    cfg.StrOpt(
        "filesystem_store_datadir",
        default="$state_path/staging",
        help="""
Directory that holds data staged with ``PUT /v2/images/{id}/stage`` until it is
imported. Each API node may have its own: with ``[DEFAULT]
worker_self_reference_url`` set on every node, import and delete calls are
forwarded to the node that holds the staged data.
"""),
]

import_opts = [
    BoundedListOpt(
        "image_import_plugins",
        item_type=cfg.types.String(quotes=True),
        default=[],
        sample_default="[no_op]",
        help="""
Import plugins run on the data of each glance-direct and web-download import
(not copy-image) before it is stored, in the order given, in brackets as
Glance writes them: ``[image_decompression,image_conversion]``.

Possible values:
    * ``image_conversion``: convert to ``[image_conversion] output_format`` with
      qemu-img (glance-api needs ``qemu-img`` and ``qemu-nbd``, Debian's
      qemu-utils); raw output is streamed into the store, not written to disk
    * ``image_decompression``: replace a gzip, zip or (with the ``lhafile``
      package) lha archive by the one file it holds
    * ``inject_image_metadata``: set ``[inject_metadata_properties] inject``
    * ``no_op``: does nothing

Another name stops glance-api at start-up.

Related options:
    * [image_conversion] output_format
    * [inject_metadata_properties]
"""),
    cfg.IntOpt(
        "max_parallel_stores",
        default=1,
        min=1,
        help="""
Glance's number of stores one import writes to at the same time. glance imports
to the stores of a multi-store import one after the other; another value is
reported at start-up as not supported.
"""),
    cfg.IntOpt(
        "web_download_timeout",
        default=60,
        min=1,
        help="""
Seconds web-download waits for the remote server to connect or send the next
bytes before the import fails.
"""),
    cfg.IntOpt(
        "web_download_max_redirects",
        default=5,
        min=0,
        help="""
Redirects web-download follows; each new URL is checked against
``[import_filtering_opts]`` again before it is fetched.
"""),
]

GROUPS = (("os_glance_staging_store", staging_opts), ("image_import_opts", import_opts))
FILE_SCHEME = "file://"


def check(conf: cfg.ConfigOpts) -> None:
    """ConfigError when ``worker_self_reference_url`` is set and is not an http(s)
    URL with a host (Glance takes any string and fails on the first forward)."""
    url = conf.worker_self_reference_url
    if not url:
        return
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as err:
        parts, reason = None, str(err)
    else:
        reason = "needs http:// or https:// and a host"
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise validate.ConfigError(
            f"invalid value for [DEFAULT] worker_self_reference_url: {url!r} ({reason}); "
            "allowed: the http:// or https:// URL of this node, e.g. http://10.0.0.11:9292")


def staging_path(conf: cfg.ConfigOpts) -> str:
    """The staging directory: the staging store's, or Glance's single-store
    ``node_staging_uri`` when the file sets that one and not the other."""
    store_dir = conf.os_glance_staging_store.filesystem_store_datadir
    uri = conf.node_staging_uri
    if conf.enabled_backends or not uri.startswith(FILE_SCHEME):
        return store_dir
    store_source = conf.get_location("filesystem_store_datadir", "os_glance_staging_store")
    uri_source = conf.get_location("node_staging_uri")
    if (uri_source.location.is_user_controlled
            and store_source.location is cfg.Locations.opt_default):
        return uri[len(FILE_SCHEME):]
    return store_dir


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the import and task options."""
    conf.register_opts(default_opts)
    for group, opts in GROUPS:
        conf.register_opts(opts, group=group)


def list_opts() -> list:
    """(group, options) pairs for the sample config generator."""
    return [(None, default_opts)] + [(group, opts) for group, opts in GROUPS]

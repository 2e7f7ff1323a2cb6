"""Tasks and interoperable image import options.

Glance's names and sections: ``[DEFAULT] enabled_import_methods``, ``[task]
task_time_to_live``, ``[taskflow_executor] max_workers`` and the staging store
``[os_glance_staging_store] filesystem_store_datadir``. ``[image_import_opts]``
adds the web-download transfer limits (which URLs are allowed at all is
``[import_filtering_opts]``, see glance/conf/import_filtering.py).
"""

from oslo_config import cfg

IMPORT_METHODS = ("glance-direct", "web-download", "copy-image")

default_opts = [
    cfg.ListOpt(
        "enabled_import_methods",
        default=["glance-direct", "web-download"],
        item_type=cfg.types.String(choices=IMPORT_METHODS),
        help="""
Import methods offered by ``POST /v2/images/{id}/import`` and listed by
``GET /v2/info/import``.

Possible values:
    * ``glance-direct``: import data staged with ``PUT /v2/images/{id}/stage``
    * ``web-download``: the API fetches the data from a URL the user gives
      (filtered by ``[import_filtering_opts]``)
    * ``copy-image``: copy an active image's data into more stores (only offered
      when several stores are enabled with ``enabled_backends``)

Related options:
    * [DEFAULT] enabled_backends
    * [import_filtering_opts]
"""),
]

task_opts = [
    cfg.IntOpt(
        "task_time_to_live",
        default=48,
        min=0,
        help="""
Hours a task stays visible after it ends (success or failure).

When a task ends its ``expires_at`` is set to the end time plus this many hours.
Once that time has passed the task is soft-deleted: neither ``GET /v2/tasks``
nor ``GET /v2/tasks/{id}`` return it, and ``glance-manage db purge`` removes the
row later. 0 makes tasks expire as soon as they end.
"""),
]

executor_opts = [
    cfg.IntOpt(
        "max_workers",
        default=10,
        min=1,
        help="""
Tasks (imports) each API process runs at the same time; further tasks wait
their turn in ``processing``/``pending``.
"""),
]

staging_opts = [
    cfg.StrOpt(
        "filesystem_store_datadir",
        default="$state_path/staging",
        help="""
Directory that holds data staged with ``PUT /v2/images/{id}/stage`` until it is
imported. Every API node that takes stage and import calls of the same image
must see the same directory (shared storage when there are several nodes).
"""),
]

import_opts = [
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

GROUPS = (("task", task_opts), ("taskflow_executor", executor_opts),
          ("os_glance_staging_store", staging_opts), ("image_import_opts", import_opts))


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the import and task options."""
    conf.register_opts(default_opts)
    for group, opts in GROUPS:
        conf.register_opts(opts, group=group)


def list_opts() -> list:
    """(group, options) pairs for the sample config generator."""
    return [(None, default_opts)] + [(group, opts) for group, opts in GROUPS]

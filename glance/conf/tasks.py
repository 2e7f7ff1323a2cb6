"""``[task]`` and ``[taskflow_executor]``: how tasks (imports) run and how long they stay.

Glance's names, types and defaults. glance runs tasks on a thread pool of its
own, so Glance's TaskFlow settings (``task_executor``, ``engine_mode``) change
nothing; ``work_dir`` is not needed (see glance/conf/unsupported.py).
``conversion_format`` converts the data of legacy ``import`` tasks
(glance/services/import_plugins.py).
"""

from oslo_config import cfg

CONVERSION_FORMATS = ("qcow2", "raw", "vmdk")

task_opts = [
    cfg.IntOpt(
        "task_time_to_live",
        default=48,
        deprecated_opts=[cfg.DeprecatedOpt("task_time_to_live", group="DEFAULT")],
        help="""
Hours a task stays visible after it ends (success or failure).

When a task ends its ``expires_at`` is set to the end time plus this many hours.
Once that time has passed the task is soft-deleted: neither ``GET /v2/tasks``
nor ``GET /v2/tasks/{id}`` return it, and ``glance-manage db purge`` removes the
row later. 0 (or less) makes tasks expire as soon as they end.
"""),
    cfg.StrOpt(
        "task_executor",
        default="taskflow",
        choices=("taskflow",),
        help="""
Glance's task executor; ``taskflow`` is its only value. glance runs tasks on
its own thread pool whatever this says.
"""),
    cfg.StrOpt(
        "work_dir",
        sample_default="/work_dir",
        help="""
Glance's scratch directory for legacy import tasks and image conversion. glance
does not convert images and needs no scratch space; a value is reported at
start-up as not supported.
"""),
]

executor_opts = [
    cfg.StrOpt(
        "engine_mode",
        default="parallel",
        choices=("parallel", "serial"),
        help="""
Glance's TaskFlow engine mode. glance's tasks run their steps in order whatever
this says; another value is reported at start-up as not supported.
"""),
    cfg.IntOpt(
        "max_workers",
        default=10,
        min=1,
        help="""
Tasks (imports) each API process runs at the same time; further tasks wait
their turn in ``processing``/``pending``.
"""),
    cfg.StrOpt(
        "conversion_format",
        choices=CONVERSION_FORMATS,
        sample_default="raw",
        help="""
Disk format legacy ``import`` tasks (``POST /v2/tasks``) convert images to
with qemu-img; unset, they store the data as it is. The image's
``disk_format`` becomes this format (Glance leaves it unchanged, so its
converted images carry their old format). Raw output is streamed into the
store.

Related options:
    * [image_conversion] output_format (the same for interoperable import)
"""),
]

GROUPS = (("task", task_opts), ("taskflow_executor", executor_opts))


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register [task] and [taskflow_executor]."""
    for group, opts in GROUPS:
        conf.register_opts(opts, group=group)


def list_opts() -> list:
    """(group, options) pairs for the sample config generator."""
    return list(GROUPS)

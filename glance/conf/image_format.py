"""[image_format]: the disk and container formats images may declare."""

from oslo_config import cfg

group = cfg.OptGroup("image_format", title="Image format options")

DISK_FORMATS = ["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso",
                "ploop"]
CONTAINER_FORMATS = ["ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"]

opts = [
    cfg.ListOpt(
        "container_formats",
        default=CONTAINER_FORMATS,
        deprecated_opts=[cfg.DeprecatedOpt("container_formats", group="DEFAULT")],
        help="""
Container formats an image may declare in ``container_format``.

Possible values:
    * A comma-separated list of format names
"""),
    cfg.ListOpt(
        "disk_formats",
        default=DISK_FORMATS,
        deprecated_opts=[cfg.DeprecatedOpt("disk_formats", group="DEFAULT")],
        help="""
Disk formats an image may declare in ``disk_format``. ``vhdx`` (Hyper-V's
successor to vhd) and ``ploop`` (Virtuozzo) are accepted by default.

Possible values:
    * A comma-separated list of format names
"""),
    cfg.BoolOpt(
        "require_image_format_match",
        default=True,
        help="""
Refuse image data whose content is not the image's declared ``disk_format``
(checked on upload, stage and import with oslo.utils' format inspectors, while
the data streams to the store). Whatever this says, data in several formats
at once and data failing a safety check (a qcow2 backing or external data
file, a vmdk descriptor naming other files) are always refused.

Possible values:
    * True: a mismatch is refused with 400 and the image stays ``queued``
    * False: any content is accepted under any declared format

Related options:
    * disk_formats
"""),
    cfg.ListOpt(
        "vmdk_allowed_types",
        default=["streamOptimized", "monolithicSparse"],
        help="""
VMDK ``create-type`` subformats Glance's image conversion accepts. glance does
not convert images (and always refuses a vmdk whose descriptor names other
files); another value is reported at start-up as not supported.
"""),
    cfg.ListOpt(
        "gpt_safety_checks_nonfatal",
        default=[],
        help="""
Glance's GPT/MBR safety checks (``mbr``, ``gptmbr``) to treat as warnings.
glance keeps every format safety check fatal; a value is reported at start-up
as not supported.
"""),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register [image_format] options."""
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts() -> list:
    """Options for the sample config generator."""
    return [(group, opts)]

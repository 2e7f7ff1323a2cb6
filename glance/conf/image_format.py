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
VMDK ``create-type`` subformats image conversion may read (the
single-file-with-sparse-header ones by default: a vmdk naming other files could
expose files of the host). An empty list refuses to convert any vmdk. As in
Glance, this is checked when an image is converted (the ``image_conversion``
import plugin); uploads of a vmdk naming other files are always refused.

Related options:
    * ``[image_import_opts] image_import_plugins``
"""),
    cfg.ListOpt(
        "gpt_safety_checks_nonfatal",
        default=[],
        help="""
Safety checks of GPT disk images (``disk_format = gpt``, or data detected as
GPT, such as a raw whole-disk image) to log as warnings instead of refusing
the data: ``mbr`` (the protective MBR's partition entries) and/or ``gptmbr``.
MBR is loosely defined, so a working disk may fail them; relaxing them weakens
the check that the data is the disk it claims to be. The ``mbr`` check only
warns for ``aki``/``ari`` images whatever this says (kernels may carry an odd
MBR on purpose). Checks of other formats stay fatal.

Possible values:
    * A comma-separated list of check names (``mbr``, ``gptmbr``)
"""),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register [image_format] options."""
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts() -> list:
    """Options for the sample config generator."""
    return [(group, opts)]

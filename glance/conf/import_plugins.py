"""Options of the import plugins (glance/services/import_plugins.py) and of the
``glance-download`` method (glance/services/glance_download.py), with Glance's
names, types and defaults.

:func:`check_tools` stops glance-api at start-up when image conversion is
configured and ``qemu-img``/``qemu-nbd`` are missing.
"""

import shutil

from oslo_config import cfg

from glance.conf import validate
from glance.conf.image_import import IMPORT_PLUGINS
from glance.conf.tasks import CONVERSION_FORMATS
from glance.conf.types import BoundedListOpt

download_opts = [
    BoundedListOpt(
        "extra_properties",
        item_type=cfg.types.String(quotes=True),
        default=["hw_", "trait:", "os_distro", "os_secure_boot", "os_type"],
        help="""
The ``glance-download`` import method (import from another region's Glance)
copies the remote image's properties that start with one of these prefixes;
``os_glance*`` properties are never copied.
"""),
]

inject_opts = [
    cfg.ListOpt(
        "ignore_user_roles",
        default="admin",
        help="""
The ``inject_image_metadata`` import plugin leaves the imports of users with one
of these roles alone (no properties injected). For example: ``admin,member``.
"""),
    cfg.DictOpt(
        "inject",
        default={},
        help="""
``key:value`` properties the ``inject_image_metadata`` import plugin sets on
imported images, for example ``k1:v1,k2:v2`` (keys of at most 255 characters;
``os_glance_*`` keys are dropped with a warning).
"""),
]

conversion_opts = [
    cfg.StrOpt(
        "output_format",
        default="raw",
        choices=CONVERSION_FORMATS,
        help="""
Disk format the ``image_conversion`` import plugin converts imported images
to (``disk_format`` becomes this, ``container_format`` ``bare``). ``raw`` is
what Ceph RBD needs for copy-on-write clones; raw output is streamed from
qemu-nbd into the store, qcow2 and vmdk output are written beside the staged
data first (qemu-img needs random access to write them).

Possible values:
    * raw
    * qcow2
    * vmdk

Related options:
    * [image_import_opts] image_import_plugins
    * [image_format] vmdk_allowed_types
"""),
]

GROUPS = (("glance_download_properties", download_opts),
          ("inject_metadata_properties", inject_opts),
          ("image_conversion", conversion_opts))


def conversion_configured(conf: cfg.ConfigOpts) -> list[str]:
    """The options that make glance-api convert images."""
    found = []
    if "image_conversion" in (conf.image_import_opts.image_import_plugins or ()):
        found.append("[image_import_opts] image_import_plugins")
    if conf.taskflow_executor.conversion_format:
        found.append("[taskflow_executor] conversion_format")
    return found


def check(conf: cfg.ConfigOpts) -> None:
    """ConfigError for a plugin name glance does not have, or when conversion is
    configured and qemu-img/qemu-nbd are missing."""
    unknown = [name for name in conf.image_import_opts.image_import_plugins or ()
               if name not in IMPORT_PLUGINS]
    if unknown:
        raise validate.ConfigError(
            f"[image_import_opts] image_import_plugins: unknown plugin "
            f"{', '.join(unknown)} (allowed: {', '.join(IMPORT_PLUGINS)})")
    options = conversion_configured(conf)
    missing = [tool for tool in ("qemu-img", "qemu-nbd") if shutil.which(tool) is None]
    if options and missing:
        raise validate.ConfigError(
            f"{' and '.join(options)} need {' and '.join(missing)}, not found on PATH "
            "(install qemu-utils on Debian/Ubuntu, qemu-img on RHEL)")


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the import plugin groups."""
    for group, opts in GROUPS:
        conf.register_opts(opts, group=group)


def list_opts() -> list:
    """(group, options) pairs for the sample config generator."""
    return list(GROUPS)

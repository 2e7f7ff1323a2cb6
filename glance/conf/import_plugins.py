"""Options of Glance's import plugins and of the ``glance-download`` method.

glance has no import plugins (see glance/conf/unsupported.py): their groups are
registered with Glance's names, types and defaults so that a Glance
configuration parses as it does in Glance and a value set here is reported at
start-up instead of being ignored in silence.
"""

from oslo_config import cfg

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
Glance's ``inject_image_metadata`` import plugin leaves the images of users with
one of these roles alone. glance has no import plugins; a value is reported at
start-up as not supported.
"""),
    cfg.DictOpt(
        "inject",
        default={},
        help="""
Glance's ``inject_image_metadata`` import plugin sets these ``key:value``
properties on imported images. glance has no import plugins; a value is
reported at start-up as not supported.
"""),
]

conversion_opts = [
    cfg.StrOpt(
        "output_format",
        default="raw",
        choices=CONVERSION_FORMATS,
        help="""
Disk format Glance's ``image_conversion`` import plugin converts images to.
glance has no import plugins; a value is reported at start-up as not supported
(and the plugin itself stops glance-api at start-up).
"""),
]

GROUPS = (("glance_download_properties", download_opts),
          ("inject_metadata_properties", inject_opts),
          ("image_conversion", conversion_opts))


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the import plugin groups."""
    for group, opts in GROUPS:
        conf.register_opts(opts, group=group)


def list_opts() -> list:
    """(group, options) pairs for the sample config generator."""
    return list(GROUPS)

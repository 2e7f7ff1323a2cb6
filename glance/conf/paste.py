"""[paste_deploy]: which paste file and which identity flavor to use."""

from oslo_config import cfg

FLAVORS = ("noauth", "keystone")

group = cfg.OptGroup("paste_deploy", title="Paste deployment options")

opts = [
    cfg.StrOpt(
        "flavor",
        default="noauth",
        choices=[
            ("noauth", "Trust X-Roles / X-Project-Id / X-User-Id headers; identity is "
                       "NOT verified. For development and tests only."),
            ("keystone", "Validate tokens with keystonemiddleware auth_token "
                         "(configured in [keystone_authtoken])."),
        ],
        help="""
How requests are authenticated. The paste pipeline is the same for every
flavor; the flavor only decides whether keystonemiddleware's auth_token
filter validates tokens in front of the context filter.

Related options:
    * [keystone_authtoken] section
"""),
    cfg.StrOpt(
        "config_file",
        help="""
Path to the paste deploy file. When unset, ``glance-api-paste.ini`` next
to the first config file is used, then the copy shipped with the package.
"""),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register [paste_deploy] options."""
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts() -> list:
    """Options for the sample config generator."""
    return [(group, opts)]

"""[paste_deploy]: which paste file and which identity flavor to use."""

from oslo_config import cfg

FLAVORS = ("noauth", "keystone")
# Glance's flavors that add its image cache to the keystone pipeline. Here the
# cache is turned on by [DEFAULT] image_cache_dir; these names are accepted so a
# Glance configuration keeps working, and authenticate like ``keystone``.
CACHE_FLAVORS = ("keystone+cache", "keystone+caching", "keystone+cachemanagement")

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
            *((name, "As keystone (Glance's name for keystone with the image "
                     "cache; the cache itself is on when image_cache_dir is set).")
              for name in CACHE_FLAVORS),
        ],
        help="""
How requests are authenticated. The paste pipeline is the same for every
flavor; the flavor only decides whether keystonemiddleware's auth_token
filter validates tokens in front of the context filter.

Glance's ``keystone+cache``, ``keystone+caching`` and
``keystone+cachemanagement`` are accepted and authenticate like ``keystone``;
the image cache is turned on by ``[DEFAULT] image_cache_dir``.

Related options:
    * [keystone_authtoken] section
    * [DEFAULT] image_cache_dir
"""),
    cfg.StrOpt(
        "config_file",
        help="""
Path to the paste deploy file. When unset, ``glance-api-paste.ini`` next
to the first config file is used, then the copy shipped with the package.
"""),
]


def auth_flavor(conf: cfg.ConfigOpts | None = None) -> str:
    """``keystone`` or ``noauth``: how the configured flavor authenticates."""
    flavor = (conf or cfg.CONF).paste_deploy.flavor
    return flavor.partition("+")[0]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register [paste_deploy] options."""
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts() -> list:
    """Options for the sample config generator."""
    return [(group, opts)]

"""[paste_deploy]: which paste file and flavor; [DEFAULT] allow_anonymous_access."""

from oslo_config import cfg

# The flavors glance's own paste file understands: its one pipeline asks
# ``auth_flavor()`` whether tokens are validated. The ``keystone+cache...`` names
# are Glance's; with our file they authenticate like ``keystone`` (the cache is
# on when [DEFAULT] image_cache_dir is set).
OWN_FLAVORS = ("noauth", "keystone", "keystone+cache", "keystone+caching",
               "keystone+cachemanagement")

group = cfg.OptGroup("paste_deploy", title="Paste deployment options")

opts = [
    cfg.StrOpt(
        "flavor",
        help="""
The deployment flavor: which pipeline of the paste file serves the API.

With glance's own ``glance-api-paste.ini`` (one pipeline for every flavor)
the flavor only decides how requests are authenticated:

* ``noauth`` (also when unset): trust the X-Roles / X-Project-Id /
  X-User-Id headers sent by clients; identity is NOT verified. For
  development and tests only.
* ``keystone``: validate tokens with keystonemiddleware auth_token
  (configured in [keystone_authtoken]). Glance's ``keystone+cache``,
  ``keystone+caching`` and ``keystone+cachemanagement`` mean the same;
  the image cache is turned on by ``[DEFAULT] image_cache_dir``.

With a paste file in OpenStack Glance's style the flavor names the
application ``glance-api-<flavor>`` (``glance-api`` when unset) and the
pipeline of that name, as in Glance: Glance 33's stock file defines
``keystone``, ``caching``, ``cachemanagement``, ``keystone+caching`` and
``keystone+cachemanagement``. A flavor the paste file does not define stops
glance-api at start-up, except ``noauth``: on a Glance-style file without it,
the file's ``keystone`` pipeline is served with the identity headers trusted
instead of tokens validated (development only).

Related options:
    * [keystone_authtoken] section
    * [DEFAULT] image_cache_dir
    * [DEFAULT] allow_anonymous_access
"""),
    cfg.StrOpt(
        "config_file",
        help="""
Path to the paste deploy file. When unset, ``glance-api-paste.ini`` next
to the first config file is used, then the copy shipped with the package.
"""),
]

default_opts = [
    cfg.BoolOpt(
        "allow_anonymous_access",
        default=False,
        help="""
Let requests without a valid identity in, with read-only access.

When False, a request that reaches the context filter without an identity
confirmed by keystonemiddleware (``X-Identity-Status: Confirmed``) is
refused with 401. When True it goes on as an anonymous caller: no user, no
project, no roles, and every call that would change something is refused
with 403 ("Read-only access"); what it may read is up to the policy rules.
Only the context filter of the keystone flavors applies it (with glance's
own paste file, auth_token then defers its decision to that filter).

Possible values:
    * True
    * False

Related options:
    * [paste_deploy] flavor
"""),
]


def auth_flavor(conf: cfg.ConfigOpts | None = None) -> str:
    """``keystone`` or ``noauth``: how our own pipeline authenticates."""
    flavor = (conf or cfg.CONF).paste_deploy.flavor or "noauth"
    return flavor.partition("+")[0]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register [paste_deploy] options and [DEFAULT] allow_anonymous_access."""
    conf.register_group(group)
    conf.register_opts(opts, group=group)
    conf.register_opts(default_opts)


def list_opts() -> list:
    """Options for the sample config generator."""
    return [(group, opts), (None, default_opts)]

"""Hierarchical image access: ``[DEFAULT] hierarchical_image_access`` and its cache TTL.

With the feature on, an image member entry may cover a Keystone project subtree
or a whole domain (doc/source/contributor/specs/hierarchical-image-access.rst).
A caller's parents and domain are read from Keystone with glance's service
credentials (``[keystone_authtoken]``), so the feature needs the keystone flavor.
"""

from oslo_config import cfg

from glance.conf import validate

opts = [
    cfg.BoolOpt(
        "hierarchical_image_access",
        default=False,
        help="""
Let an image's owner share it with a Keystone project subtree (a member entry
with ``"scope": "subtree"``: the project and every project below it) or a whole
domain (``"scope": "domain"``). Off, the member API refuses the ``scope`` field
(400) and nothing else changes. Needs ``[paste_deploy] flavor = keystone`` (the
callers' parents and domain are read from Keystone with the credentials of
``[keystone_authtoken]``; that user needs the right to show any project, as the
``service`` or ``admin`` role gives with Keystone's default policy).

Related options:
    * ``hierarchical_access_cache_ttl``
    * ``[keystone_authtoken]`` auth options
"""),
    cfg.IntOpt(
        "hierarchical_access_cache_ttl",
        default=60,
        min=0,
        help="""
Seconds a project's parents and domain, read from Keystone, are reused before
they are read again: a project moved in the tree gains or loses access within
this time. 0 reads them on every request.

Related options:
    * ``hierarchical_image_access``
"""),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the two [DEFAULT] options."""
    conf.register_opts(opts)


def check(conf: cfg.ConfigOpts) -> None:
    """Start-up check: the feature needs tokens validated by Keystone and service
    credentials to read projects with (one-line ConfigError otherwise)."""
    if not conf.hierarchical_image_access:
        return
    if "keystone" not in (conf.paste_deploy.flavor or ""):
        raise validate.ConfigError(
            "[DEFAULT] hierarchical_image_access = True needs [paste_deploy] flavor = "
            "keystone (the callers' parents and domain come from Keystone)")
    group = conf.keystone_authtoken
    if not group.auth_type and not group.auth_section:
        raise validate.ConfigError(
            "[DEFAULT] hierarchical_image_access = True needs [keystone_authtoken] "
            "auth_type (for example: password) and glance's service credentials")

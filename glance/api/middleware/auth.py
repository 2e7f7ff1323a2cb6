"""The token-validation filter, chosen by ``[paste_deploy] flavor``.

One pipeline serves every flavor: with ``keystone`` (or Glance's
``keystone+cache...`` names) this filter is
keystonemiddleware's auth_token (configured in [keystone_authtoken]); with
``noauth`` it is a pass-through.
"""

from keystonemiddleware import auth_token
from oslo_config import cfg

from glance.conf import paste

CONF = cfg.CONF


def filter_factory(global_conf: dict, **local_conf):
    """Paste filter factory."""

    def _wrap(app):
        if paste.auth_flavor() == "keystone":
            return auth_token.filter_factory(global_conf, **local_conf)(app)
        return app

    return _wrap

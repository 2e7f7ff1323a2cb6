"""glance's own token-validation filter, chosen by ``[paste_deploy] flavor``.

One pipeline serves every flavor of glance's paste file: with ``keystone`` (or
Glance's ``keystone+cache...`` names) this filter is keystonemiddleware's
auth_token (configured in [keystone_authtoken]), which defers its decision to
the context filter when ``[DEFAULT] allow_anonymous_access`` is on; with
``noauth`` it lets the context filter trust the identity headers as sent.
"""

from collections.abc import Callable, Iterable

from keystonemiddleware import auth_token
from oslo_config import cfg
from oslo_log import log as logging

from glance.api.middleware import base, context
from glance.conf import paste

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


def _trusting_headers(application: base.WSGIApp) -> base.WSGIApp:
    def trusting(environ: dict, start_response: Callable) -> Iterable[bytes]:
        environ[context.TRUST_HEADERS_ENV] = True
        return application(environ, start_response)

    return trusting


def filter_factory(global_conf: dict, **local_conf):
    """Paste filter factory."""

    def _wrap(app):
        if paste.auth_flavor() == "keystone":
            options = dict(local_conf)
            if CONF.allow_anonymous_access:
                options["delay_auth_decision"] = "true"
            return auth_token.filter_factory(global_conf, **options)(app)
        LOG.warning("Identity is NOT verified: [paste_deploy] flavor = %s trusts the "
                    "X-Roles / X-Project-Id / X-User-Id headers sent by clients. Use "
                    "flavor = keystone in production.",
                    CONF.paste_deploy.flavor or "noauth")
        return _trusting_headers(app)

    return _wrap

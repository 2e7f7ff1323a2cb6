"""Builds the RequestContext from identity headers.

With ``[paste_deploy] flavor = keystone`` the headers come from
keystonemiddleware's auth_token filter, which has validated the token. With
``flavor = noauth`` the same headers are *trusted as sent* (X-Roles,
X-Project-Id or X-Tenant-Id, X-User-Id); a request with none of them acts as
an administrator with no project. That flavor is for development and tests.
"""

import webob
from oslo_config import cfg
from oslo_log import log as logging

from glance import context, policy
from glance.api import faults
from glance.api.middleware import base
from glance.conf import paste

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

IDENTITY_HEADERS = ("X-Roles", "X-Project-Id", "X-Tenant-Id", "X-User-Id", "X-Tenant",
                    "X-User", "X-Project-Name")


def _unauthenticated_context(request: webob.Request) -> context.RequestContext:
    return context.RequestContext(
        is_admin=True, roles=["admin"], request_id=request.environ.get(
            "openstack.request_id"), auth_token=request.headers.get("X-Auth-Token"))


def _context_from_headers(request: webob.Request) -> context.RequestContext:
    ctx = context.RequestContext.from_environ(request.environ)
    if not ctx.project_id and request.headers.get("X-Tenant-Id"):
        ctx.project_id = request.headers["X-Tenant-Id"]
    ctx.is_admin = policy.check_is_admin(ctx)
    return ctx


class ContextMiddleware(base.RequestFilter):
    """Puts ``glance.context`` into the WSGI environ."""

    def __init__(self, application, conf=None):
        super().__init__(application, conf)
        if paste.auth_flavor() != "keystone":
            LOG.warning("Identity is NOT verified: [paste_deploy] flavor = %s trusts the "
                        "X-Roles / X-Project-Id / X-User-Id headers sent by clients. Use "
                        "flavor = keystone in production.", CONF.paste_deploy.flavor)

    def process_request(self, request: webob.Request):
        """Attach the context; answer 401 only for an unconfirmed keystone identity."""
        if paste.auth_flavor() == "keystone":
            if request.headers.get("X-Identity-Status", "Confirmed") != "Confirmed":
                return faults.error_response(
                    request, 401, "The request you have made requires authentication.")
            ctx = _context_from_headers(request)
        elif any(name in request.headers for name in IDENTITY_HEADERS):
            ctx = _context_from_headers(request)
        else:
            ctx = _unauthenticated_context(request)
        request.environ["glance.context"] = ctx
        return None

"""Builds the RequestContext from identity headers: the two context filters.

``ContextMiddleware`` (paste ``context``) works as OpenStack Glance's: an
identity that keystonemiddleware's auth_token confirmed (``X-Identity-Status:
Confirmed``) becomes the context (X-Roles, X-Project-Id, X-User-Id, service
token and scope headers); anything else is 401, or an anonymous read-only
context with ``[DEFAULT] allow_anonymous_access``. Behind glance's own
``noauth`` filter (``glance.api.middleware.auth``, which marks the request with
``TRUST_HEADERS_ENV``) the headers are trusted as sent (X-Tenant-Id too) and a
request with none of them acts as an administrator with no project.

``UnauthenticatedContextMiddleware`` (paste ``unauthenticated-context``, the
default flavor of Glance's file) makes every request an ``is_admin`` context
without user, project or roles, as Glance does: with the default policies
almost every call is then refused with 403.
"""

import json

import webob
from oslo_config import cfg
from oslo_log import log as logging

from glance import context, hierarchy, policy
from glance.api import faults
from glance.api.middleware import base

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

TRUST_HEADERS_ENV = "glance.trust_identity_headers"
IDENTITY_HEADERS = ("X-Roles", "X-Project-Id", "X-Tenant-Id", "X-User-Id", "X-Tenant",
                    "X-User", "X-Project-Name")
READ_METHODS = ("GET", "HEAD", "OPTIONS")


def _request_id(request: webob.Request) -> str | None:
    return request.environ.get("openstack.request_id")


def _admin_context(request: webob.Request, roles: list[str]) -> context.RequestContext:
    return context.RequestContext(is_admin=True, roles=roles, request_id=_request_id(
        request), auth_token=request.headers.get("X-Auth-Token"))


def _service_catalog(request: webob.Request) -> list | None:
    """keystonemiddleware's X-Service-Catalog (JSON), else None; ValueError when
    it is not a JSON list."""
    raw = request.headers.get("X-Service-Catalog")
    if not raw:
        return None
    catalog = json.loads(raw)
    if not isinstance(catalog, list):
        raise ValueError("the service catalog is not a list")
    return catalog


def _context_from_headers(request: webob.Request) -> context.RequestContext:
    ctx = context.RequestContext.from_environ(
        request.environ, service_catalog=_service_catalog(request))
    if not ctx.project_id and request.headers.get("X-Tenant-Id"):
        ctx.project_id = request.headers["X-Tenant-Id"]
    ctx.roles = [role.lower() for role in ctx.roles]  # as Glance does
    ctx.is_admin = policy.check_is_admin(ctx)
    return ctx


def _anonymous_context(request: webob.Request) -> context.RequestContext:
    return context.RequestContext(is_admin=False, roles=[], read_only=True,
                                  request_id=_request_id(request))


class ContextMiddleware(base.RequestFilter):
    """Puts ``glance.context`` into the WSGI environ (Glance's ``context`` filter)."""

    def process_request(self, request: webob.Request):
        """Attach the context; 401 without a confirmed identity, 403 for an
        anonymous caller's writes."""
        if request.environ.get(TRUST_HEADERS_ENV):
            if any(name in request.headers for name in IDENTITY_HEADERS):
                try:
                    ctx = _context_from_headers(request)
                except ValueError:
                    return faults.error_response(request, 400,
                                                 "Invalid service catalog json.")
            else:
                ctx = _admin_context(request, ["admin"])
        elif request.headers.get("X-Identity-Status") == "Confirmed":
            try:
                ctx = _context_from_headers(request)
            except ValueError:
                return faults.error_response(request, 400, "Invalid service catalog json.")
            if hierarchy.enabled() and ctx.project_id and not ctx.is_admin:
                ctx.project_lineage = hierarchy.lineage_of(ctx.project_id)
        elif CONF.allow_anonymous_access:
            if request.method not in READ_METHODS:
                return faults.error_response(request, 403, "Read-only access")
            ctx = _anonymous_context(request)
        else:
            return faults.error_response(
                request, 401, "The request you have made requires authentication.")
        request.environ["glance.context"] = ctx
        return None


class UnauthenticatedContextMiddleware(base.RequestFilter):
    """Glance's ``unauthenticated-context``: an administrator context with no roles."""

    def __init__(self, application: base.WSGIApp, conf: dict | None = None) -> None:
        super().__init__(application, conf)
        LOG.warning("The unauthenticated-context filter is in the pipeline: requests "
                    "carry no identity, and the default policies refuse most calls (403).")

    def process_request(self, request: webob.Request):
        request.environ["glance.context"] = _admin_context(request, [])
        return None

"""The context filters: identity headers -> RequestContext, per flavor; Glance's
``context`` and ``unauthenticated-context`` semantics."""

import json

import pytest
import webob
import webob.dec
from oslo_config import cfg
from oslo_policy import policy as oslo_policy

import glance.conf  # noqa: F401 - registers [paste_deploy]
from glance import policies, policy
from glance.api.middleware import auth
from glance.api.middleware import context as context_middleware
from glance.conf import paste

CONF = cfg.CONF


@webob.dec.wsgify
def _echo(request):
    ctx = request.environ["glance.context"]
    return webob.Response(json_body={
        "project_id": ctx.project_id, "user_id": ctx.user_id, "roles": ctx.roles,
        "is_admin": ctx.is_admin, "system_scope": ctx.system_scope, "owner": ctx.owner})


@pytest.fixture
def flavor(monkeypatch):
    # The rule defaults on a private, parsed config: no policy file, no global CONF parse.
    private = cfg.ConfigOpts()
    private([], default_config_files=[])
    enforcer = oslo_policy.Enforcer(private)
    enforcer.register_defaults(policies.list_rules())
    monkeypatch.setattr(policy, "get_enforcer", lambda: enforcer)

    def _set(name: str | None):
        """The context filter as our pipeline has it: behind the noauth filter for
        noauth, alone (the headers as auth_token leaves them) for keystone."""
        CONF.set_override("flavor", name, "paste_deploy")
        middleware = context_middleware.ContextMiddleware(_echo)
        if paste.auth_flavor() == "noauth":
            return auth.filter_factory({})(middleware)
        return middleware

    yield _set
    CONF.clear_override("flavor", "paste_deploy")
    CONF.clear_override("allow_anonymous_access")


def _call(app, headers: dict) -> webob.Response:
    return webob.Request.blank("/v2/images", headers=headers).get_response(app)


def test_keystone_headers_build_the_context(flavor):
    app = flavor("keystone")
    body = _call(app, {"X-Identity-Status": "Confirmed", "X-Project-Id": "p1",
                       "X-User-Id": "u1", "X-Roles": "member,reader"}).json
    assert body["project_id"] == "p1" and body["owner"] == "p1"
    assert body["user_id"] == "u1"
    assert sorted(body["roles"]) == ["member", "reader"]
    assert body["is_admin"] is False


def test_keystone_admin_and_system_scope(flavor):
    app = flavor("keystone")
    body = _call(app, {"X-Identity-Status": "Confirmed", "X-User-Id": "u0",
                       "X-Roles": "admin,member,reader",
                       "OpenStack-System-Scope": "all"}).json
    assert body["system_scope"] == "all"
    assert body["is_admin"] is True
    assert body["project_id"] is None


def test_keystone_unconfirmed_identity_is_401(flavor):
    app = flavor("keystone")
    response = _call(app, {"X-Identity-Status": "Invalid", "X-Roles": "admin"})
    assert response.status_int == 401


def test_noauth_without_headers_is_admin_without_project(flavor):
    body = _call(flavor("noauth"), {}).json
    assert body["is_admin"] is True and body["project_id"] is None


def test_noauth_tenant_header_is_the_project(flavor):
    body = _call(flavor("noauth"), {"X-Tenant-Id": "t9", "X-Roles": "reader"}).json
    assert body["project_id"] == "t9"
    assert body["is_admin"] is False


@pytest.mark.parametrize("name", ["keystone+cache", "keystone+caching",
                                  "keystone+cachemanagement"])
def test_glance_cache_flavors_authenticate_like_keystone(flavor, name):
    """A Glance config naming a cache flavor keeps working: tokens are still required."""
    app = flavor(name)
    assert _call(app, {"X-Identity-Status": "Invalid", "X-Roles": "admin"}).status_int == 401
    body = _call(app, {"X-Identity-Status": "Confirmed", "X-Project-Id": "p1",
                       "X-Roles": "reader"}).json
    assert body["project_id"] == "p1" and body["is_admin"] is False


def test_unset_flavor_is_noauth(flavor):
    body = _call(flavor(None), {}).json
    assert body["is_admin"] is True and body["project_id"] is None


def test_roles_are_lowercased_as_glance_does(flavor):
    body = _call(flavor("keystone"), {"X-Identity-Status": "Confirmed",
                                      "X-Roles": "Member,READER"}).json
    assert sorted(body["roles"]) == ["member", "reader"]


@pytest.mark.parametrize("headers", [{}, {"X-Roles": "admin", "X-Project-Id": "p1"},
                                     {"X-Identity-Status": "Invalid"}])
def test_context_filter_alone_needs_a_confirmed_identity(flavor, headers):
    """Glance's ContextMiddleware: no X-Identity-Status: Confirmed -> 401."""
    request = webob.Request.blank("/v2/images", headers=headers)
    assert request.get_response(flavor("keystone")).status_int == 401
    assert "glance.context" not in request.environ


def test_anonymous_access_is_read_only(flavor):
    CONF.set_override("allow_anonymous_access", True)
    app = flavor("keystone")
    body = _call(app, {"X-Identity-Status": "Invalid"}).json
    assert body == {"project_id": None, "user_id": None, "roles": [], "is_admin": False,
                    "system_scope": None, "owner": None}
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        refused = webob.Request.blank("/v2/images", method=method).get_response(app)
        assert refused.status_int == 403
        assert "Read-only access" in refused.text
    confirmed = _call(app, {"X-Identity-Status": "Confirmed", "X-Project-Id": "p1",
                            "X-Roles": "member"}).json
    assert confirmed["project_id"] == "p1"


def test_allow_anonymous_access_option():
    opt = CONF._opts["allow_anonymous_access"]["opt"]
    assert isinstance(opt, cfg.BoolOpt) and opt.default is False
    assert CONF.allow_anonymous_access is False


def test_unauthenticated_context_is_admin_without_roles(flavor):
    """Glance's unauthenticated-context: is_admin, no roles, user or project, whatever
    the headers say."""
    app = context_middleware.UnauthenticatedContextMiddleware(_echo)
    body = _call(app, {"X-Roles": "member", "X-Project-Id": "p1"}).json
    assert body == {"project_id": None, "user_id": None, "roles": [], "is_admin": True,
                    "system_scope": None, "owner": None}


def test_keystone_service_catalog_reaches_the_context(flavor):
    @webob.dec.wsgify
    def catalog(request):
        return webob.Response(json_body=request.environ["glance.context"].service_catalog)

    CONF.set_override("flavor", "keystone", "paste_deploy")
    app = context_middleware.ContextMiddleware(catalog)
    entry = [{"type": "object-store", "endpoints": [{"publicURL": "http://s/v1/AUTH_p"}]}]
    confirmed = {"X-Identity-Status": "Confirmed", "X-Project-Id": "p", "X-Roles": "member"}
    assert _call(app, {**confirmed, "X-Service-Catalog": json.dumps(entry)}).json == entry
    assert _call(app, confirmed).json is None


@pytest.mark.parametrize("catalog", ["{not json", '{"a": 1}', "42"])
def test_unreadable_service_catalog_is_400(flavor, catalog):
    app = flavor("keystone")
    response = _call(app, {"X-Identity-Status": "Confirmed", "X-Project-Id": "p",
                           "X-Roles": "member", "X-Service-Catalog": catalog})
    assert response.status_int == 400
    assert "Invalid service catalog json." in response.text

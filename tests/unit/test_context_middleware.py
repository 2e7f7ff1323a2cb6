"""The context filter: identity headers -> RequestContext, per flavor."""

import pytest
import webob
import webob.dec
from oslo_config import cfg
from oslo_policy import policy as oslo_policy

import glance.conf  # noqa: F401 - registers [paste_deploy]
from glance import policies, policy
from glance.api.middleware import context as context_middleware

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

    def _set(name: str):
        CONF.set_override("flavor", name, "paste_deploy")
        return context_middleware.ContextMiddleware(_echo)

    yield _set
    CONF.clear_override("flavor", "paste_deploy")


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

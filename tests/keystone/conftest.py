"""Fixtures of the Keystone tier: a real Keystone, seeded identities, glance on it.

Run with ``pytest tests/keystone`` (marker ``keystone``). The first run
installs Keystone into its own virtualenv (see harness.py); later runs reuse it.
Set GLANCE_SKIP_KEYSTONE=1 to skip the tier on a machine without PyPI.
"""

import os
from dataclasses import dataclass

import pytest
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client as ks_client

from tests.keystone import harness

SERVICE_PASSWORD = "glance-service-secret"


def pytest_configure(config):
    config.addinivalue_line("markers", "keystone: needs a real Keystone (tests/keystone)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/keystone" in str(item.fspath):
            item.add_marker(pytest.mark.keystone)
            if os.environ.get("GLANCE_SKIP_KEYSTONE"):
                item.add_marker(pytest.mark.skip(reason="GLANCE_SKIP_KEYSTONE is set"))


@dataclass
class Identity:
    """A Keystone user with a scope: a session, and the ids the context should get."""

    name: str
    password: str
    project_id: str | None
    user_id: str
    auth_url: str
    system: bool = False
    domain_id: str | None = None

    def session(self) -> ks_session.Session:
        if self.system:
            scope = {"system_scope": "all"}
        elif self.domain_id:
            scope = {"domain_id": self.domain_id}
        else:
            scope = {"project_id": self.project_id}
        auth = v3.Password(auth_url=self.auth_url, username=self.name,
                           password=self.password, user_domain_id="default", **scope)
        return ks_session.Session(auth=auth)

    def token(self) -> str:
        return self.session().get_token()


@pytest.fixture(scope="session")
def keystone(tmp_path_factory):
    server = harness.Keystone(tmp_path_factory.mktemp("keystone")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def admin_client(keystone) -> ks_client.Client:
    auth = v3.Password(auth_url=keystone.url + "/v3", username="admin",
                       password=harness.ADMIN_PASSWORD, project_name="admin",
                       user_domain_id="default", project_domain_id="default")
    return ks_client.Client(session=ks_session.Session(auth=auth))


@pytest.fixture(scope="session")
def identities(keystone, admin_client) -> dict[str, Identity]:
    """alice-admin/-member/-reader in project A, bob in B, glance, domain and system admins."""
    ks = admin_client
    roles = {role.name: role for role in ks.roles.list()}
    projects = {name: ks.projects.create(name=name, domain="default")
                for name in ("project-a", "project-b", "service")}
    plan = [("alice-admin", "project-a", "admin"), ("alice-member", "project-a", "member"),
            ("alice-reader", "project-a", "reader"), ("bob-member", "project-b", "member"),
            ("glance", "service", "service")]
    found: dict[str, Identity] = {}
    for name, project, role in plan:
        password = SERVICE_PASSWORD if name == "glance" else f"pw-{name}"
        user = ks.users.create(name=name, domain="default", password=password,
                               default_project=projects[project])
        ks.roles.grant(roles[role], user=user, project=projects[project])
        found[name] = Identity(name, password, projects[project].id, user.id,
                               keystone.url + "/v3")
    domain_admin = ks.users.create(name="domain-admin", domain="default",
                                   password="pw-domain-admin")
    ks.roles.grant(roles["admin"], user=domain_admin, domain="default")
    found["domain-admin"] = Identity("domain-admin", "pw-domain-admin", None,
                                     domain_admin.id, keystone.url + "/v3",
                                     domain_id="default")
    admin = ks.users.find(name="admin")
    found["system-admin"] = Identity("admin", harness.ADMIN_PASSWORD, None, admin.id,
                                     keystone.url + "/v3", system=True)
    return found


@pytest.fixture(scope="session")
def glance(start_server, keystone, identities, admin_client):
    """A real glance-api with flavor = keystone, registered in the catalog."""
    server = start_server({
        "paste_deploy": {"flavor": "keystone"},
        "keystone_authtoken": {
            "www_authenticate_uri": keystone.url, "auth_url": keystone.url,
            "auth_type": "password", "username": "glance", "password": SERVICE_PASSWORD,
            "project_name": "service", "user_domain_id": "default",
            "project_domain_id": "default", "region_name": harness.REGION,
        },
    }, name="glance-keystone", keep=True)
    service = admin_client.services.create(name="glance", type="image")
    for interface in ("public", "internal", "admin"):
        admin_client.endpoints.create(service=service, url=server.url, interface=interface,
                                      region=harness.REGION)
    return server

"""Fixtures of the key-manager tier: a real Keystone and Barbican, glance-api on them.

Run with ``pytest tests/barbican`` (marker ``barbican``). The first run installs
Barbican (and Keystone) into their own virtualenvs (harness.py); later runs reuse
them. Locally the tier skips when Barbican cannot be installed; on CI (``CI`` set)
it fails. GLANCE_SKIP_BARBICAN=1 skips it on purpose.
"""

import base64
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.barbican import harness

GLANCE_PASSWORD = "glance-service-secret"


def pytest_configure(config):
    config.addinivalue_line("markers", "barbican: needs a real Barbican (tests/barbican)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/barbican" in str(item.fspath):
            item.add_marker(pytest.mark.barbican)
            if os.environ.get("GLANCE_SKIP_BARBICAN"):
                item.add_marker(pytest.mark.skip(reason="GLANCE_SKIP_BARBICAN is set"))


@pytest.fixture(scope="session")
def key_manager(tmp_path_factory):
    try:
        harness.install()
    except Exception as err:  # noqa: BLE001 - reported as a skip or a failure below
        if os.environ.get("CI"):
            pytest.fail(f"Barbican could not be installed (required on CI): {err}")
        pytest.skip(f"Barbican could not be installed: {err}")
    manager = harness.KeyManager(tmp_path_factory.mktemp("key-manager")).start()
    yield manager
    manager.stop()


@dataclass
class User:
    """A Keystone user with a project-scoped token."""

    name: str
    project_id: str
    token: str


def _keystone_call(keystone_url: str, token: str, method: str, path: str,
                   body: dict | None = None) -> dict:
    response = requests.request(method, f"{keystone_url}/v3{path}", json=body, timeout=30,
                                headers={"X-Auth-Token": token})
    assert response.status_code < 400, response.text
    return response.json() if response.content else {}


def _token(keystone_url: str, name: str, password: str, project_id: str) -> str:
    response = requests.post(f"{keystone_url}/v3/auth/tokens", timeout=30, json={
        "auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": name, "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"id": project_id}}}})
    assert response.status_code == 201, response.text
    return response.headers["X-Subject-Token"]


@pytest.fixture(scope="session")
def users(key_manager) -> dict[str, User]:
    """alice (member of project-a), bob (member of project-b); the glance service user."""
    url = key_manager.keystone.url
    admin = harness._admin_token(url)

    def call(method, path, body=None):
        return _keystone_call(url, admin, method, path, body)

    roles = {role["name"]: role["id"] for role in call("GET", "/roles")["roles"]}
    service = call("GET", "/projects?name=service")["projects"][0]
    found = {}
    for name, project_name, role in (("alice", "project-a", "member"),
                                     ("bob", "project-b", "member"),
                                     ("glance", None, "service")):
        project = service if project_name is None else call("POST", "/projects", {
            "project": {"name": project_name, "domain_id": "default"}})["project"]
        password = GLANCE_PASSWORD if name == "glance" else f"pw-{name}"
        user = call("POST", "/users", {"user": {"name": name, "password": password,
                                                 "domain_id": "default"}})["user"]
        call("PUT", f"/projects/{project['id']}/users/{user['id']}/roles/{roles[role]}")
        found[name] = User(name, project["id"], _token(url, name, password, project["id"]))
    return found


@pytest.fixture(scope="session")
def glance_dirs(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("glance-signed-data")
    return {"images": base / "images", "staging": base / "staging"}


@pytest.fixture(scope="session")
def glance(start_server, key_manager, users, glance_dirs):
    """glance-api behind Keystone, finding Barbican in the catalog through castellan."""
    keystone_url = key_manager.keystone.url
    return start_server({
        "paste_deploy": {"flavor": "keystone"},
        "keystone_authtoken": {
            "www_authenticate_uri": keystone_url, "auth_url": keystone_url,
            "auth_type": "password", "username": "glance", "password": GLANCE_PASSWORD,
            "project_name": "service", "user_domain_id": "default",
            "project_domain_id": "default", "region_name": harness.REGION,
        },
        "key_manager": {"backend": "barbican"},
        "barbican": {"auth_endpoint": keystone_url + "/v3",
                     "barbican_endpoint_type": "public"},
        "glance_store": {"filesystem_store_datadir": glance_dirs["images"]},
        "os_glance_staging_store": {"filesystem_store_datadir": glance_dirs["staging"]},
    }, name="glance-barbican", keep=True)


def store_certificate(key_manager, user: User, certificate_pem: bytes) -> str:
    """Store a PEM certificate in Barbican as ``user``; returns its secret id (uuid)."""
    response = requests.post(key_manager.barbican.url + "/v1/secrets", timeout=30,
                             headers={"X-Auth-Token": user.token}, json={
        "name": "signing-certificate", "secret_type": "certificate",
        "payload": base64.b64encode(certificate_pem).decode(),
        "payload_content_type": "application/octet-stream",
        "payload_content_encoding": "base64"})
    assert response.status_code == 201, response.text
    return response.json()["secret_ref"].rstrip("/").rsplit("/", 1)[1]

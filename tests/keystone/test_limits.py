"""Keystone unified limits (``use_keystone_limits``) against the real Keystone.

The limits are registered through Keystone's API (registered limits for the
image service's endpoint, project limits per test project); a glance-api with
``flavor = keystone`` and ``[oslo_limit]`` reads them with oslo.limit as the
glance service user (a system reader, as devstack sets it up).
"""

import time
import uuid

import pytest
import requests
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client as ks_client

from tests import helpers
from tests.keystone import harness
from tests.keystone.conftest import SERVICE_PASSWORD

MIB = 1024 * 1024
RESOURCES = ("image_size_total", "image_stage_total", "image_count_total",
             "image_count_uploading")
DEFAULT_LIMIT = 1000


@pytest.fixture(scope="module")
def system_client(identities) -> ks_client.Client:
    return ks_client.Client(session=identities["system-admin"].session())


@pytest.fixture(scope="module")
def image_service(glance, admin_client):
    """The glance service of the catalog (registered by the ``glance`` fixture)."""
    service = next(s for s in admin_client.services.list(type="image")
                   if s.name == "glance")
    endpoint = next(iter(admin_client.endpoints.list(service=service,
                                                     interface="public")))
    return service, endpoint


@pytest.fixture(scope="module")
def limited(start_server, keystone, identities, admin_client, system_client,
            image_service):
    """A glance-api enforcing the Keystone limits (user_storage_quota set and ignored)."""
    service, endpoint = image_service
    reader = next(r for r in admin_client.roles.list() if r.name == "reader")
    system_client.roles.grant(reader, user=identities["glance"].user_id, system="all")
    for name in RESOURCES:
        system_client.registered_limits.create(service=service, resource_name=name,
                                               default_limit=DEFAULT_LIMIT,
                                               region=harness.REGION)
    auth = {"auth_url": keystone.url, "auth_type": "password", "username": "glance",
            "password": SERVICE_PASSWORD, "user_domain_id": "default"}
    return start_server({
        "DEFAULT": {"use_keystone_limits": "true", "user_storage_quota": "1B"},
        "paste_deploy": {"flavor": "keystone"},
        "keystone_authtoken": {**auth, "www_authenticate_uri": keystone.url,
                               "project_name": "service",
                               "project_domain_id": "default",
                               "region_name": harness.REGION},
        "oslo_limit": {**auth, "endpoint_id": endpoint.id, "system_scope": "all"},
    }, name="glance-limits")


@pytest.fixture
def project(keystone, admin_client, system_client, image_service):
    """Factory: a new project with its own limits and a member's token."""
    service, _ = image_service
    member = next(r for r in admin_client.roles.list() if r.name == "member")

    def make(**limits: int) -> tuple[str, str]:
        name = f"limits-{uuid.uuid4().hex[:8]}"
        created = admin_client.projects.create(name=name, domain="default")
        user = admin_client.users.create(name=name, domain="default", password="pw-" + name,
                                         default_project=created)
        admin_client.roles.grant(member, user=user, project=created)
        for resource, value in limits.items():
            system_client.limits.create(project=created, service=service,
                                        resource_name=resource, resource_limit=value,
                                        region=harness.REGION)
        auth = v3.Password(auth_url=keystone.url + "/v3", username=name,
                           password="pw-" + name, user_domain_id="default",
                           project_id=created.id)
        return ks_session.Session(auth=auth).get_token(), created.id
    return make


def _call(server, method: str, path: str, token: str, **kwargs) -> requests.Response:
    headers = {"X-Auth-Token": token, **kwargs.pop("headers", {})}
    return requests.request(method, server.url + path, headers=headers, timeout=60,
                            **kwargs)


def _image(server, token: str) -> dict:
    created = _call(server, "POST", "/v2/images", token,
                    json={"disk_format": "raw", "container_format": "bare"})
    assert created.status_code == 201, created.text
    return created.json()


def _chunks(size: int, chunk: int = 256 * 1024):
    sent = 0
    while sent < size:
        yield b"x" * min(chunk, size - sent)
        sent += chunk


def _upload(server, token: str, image_id: str, data, path: str = "file"):
    return _call(server, "PUT", f"/v2/images/{image_id}/{path}", token, data=data,
                 headers={"Content-Type": "application/octet-stream",
                          "Accept": "application/json"})


def _status(server, token: str, image_id: str) -> dict:
    return _call(server, "GET", f"/v2/images/{image_id}", token).json()


def _over_limit(response: requests.Response, resource: str) -> None:
    assert response.status_code == 413, response.text
    message = response.json()["message"]
    assert "over a limit" in message and f"Resource {resource} is over limit" in message


def test_usage_reports_every_limit(limited, project):
    token, _ = project(image_count_total=5, image_size_total=3)
    image = _image(limited, token)
    assert _upload(limited, token, image["id"], b"y" * (2 * MIB)).status_code == 204
    usage = _call(limited, "GET", "/v2/info/usage", token)
    assert usage.status_code == 200
    assert usage.json() == {"usage": {
        "image_size_total": {"usage": 2, "limit": 3},
        "image_stage_total": {"usage": 0, "limit": DEFAULT_LIMIT},
        "image_count_total": {"usage": 1, "limit": 5},
        "image_count_uploading": {"usage": 0, "limit": DEFAULT_LIMIT}}}


def test_usage_is_empty_without_keystone_limits(glance, identities):
    token = identities["alice-member"].token()
    usage = _call(glance, "GET", "/v2/info/usage", token)
    assert usage.status_code == 200 and usage.json() == {"usage": {}}


def test_image_count_total_stops_the_create_past_it(limited, project):
    token, _ = project(image_count_total=2)
    _image(limited, token)
    second = _image(limited, token)
    refused = _call(limited, "POST", "/v2/images", token, json={},
                    headers={"Accept": "application/json"})
    _over_limit(refused, "image_count_total")
    assert "limit of 2 due to current usage 2 and delta 1" in refused.json()["message"]
    # a deleted image no longer counts
    assert _call(limited, "DELETE", f"/v2/images/{second['id']}", token).status_code == 204
    _image(limited, token)


def test_image_size_total_is_checked_before_the_body(limited, project):
    token, _ = project(image_size_total=1)
    image = _image(limited, token)
    refused = _upload(limited, token, image["id"], b"z" * (2 * MIB))
    _over_limit(refused, "image_size_total")
    assert "delta 2" in refused.json()["message"]
    after = _status(limited, token, image["id"])
    assert after["status"] == "queued" and after["size"] is None
    # under the limit (user_storage_quota = 1B is not applied with Keystone limits)
    assert _upload(limited, token, image["id"], b"z" * (MIB // 2)).status_code == 204
    assert _status(limited, token, image["id"])["status"] == "active"


def test_a_chunked_upload_is_stopped_when_it_crosses_the_limit(limited, project):
    token, _ = project(image_size_total=1)
    first = _image(limited, token)
    assert _upload(limited, token, first["id"], b"a" * (MIB // 2)).status_code == 204
    second = _image(limited, token)
    refused = _upload(limited, token, second["id"], _chunks(MIB))  # 1.5 MiB in all
    _over_limit(refused, "image_size_total")
    after = _status(limited, token, second["id"])
    assert after["status"] == "queued" and after["size"] is None
    within = _image(limited, token)
    assert _upload(limited, token, within["id"], _chunks(MIB // 2)).status_code == 204


def test_image_count_uploading_counts_the_upload_itself(limited, project):
    token, _ = project(image_count_uploading=0)
    image = _image(limited, token)
    refused = _upload(limited, token, image["id"], b"u" * 1024)
    _over_limit(refused, "image_count_uploading")
    assert _status(limited, token, image["id"])["status"] == "queued"
    staged = _upload(limited, token, image["id"], b"u" * 1024, path="stage")
    _over_limit(staged, "image_count_uploading")
    assert _status(limited, token, image["id"])["status"] == "queued"


def test_image_stage_total_stops_staging(limited, project):
    token, _ = project(image_stage_total=1)
    image = _image(limited, token)
    _over_limit(_upload(limited, token, image["id"], b"s" * (2 * MIB), path="stage"),
                "image_stage_total")
    _over_limit(_upload(limited, token, image["id"], _chunks(2 * MIB), path="stage"),
                "image_stage_total")
    assert _status(limited, token, image["id"])["status"] == "queued"
    assert _upload(limited, token, image["id"], b"s" * 1024,
                   path="stage").status_code == 204
    assert _status(limited, token, image["id"])["status"] == "uploading"


def test_glance_direct_import_past_image_size_total_fails_the_task(limited, project):
    token, _ = project(image_size_total=1)
    image = _image(limited, token)
    assert _upload(limited, token, image["id"], b"i" * (2 * MIB),
                   path="stage").status_code == 204
    started = _call(limited, "POST", f"/v2/images/{image['id']}/import", token,
                    json={"method": {"name": "glance-direct"}})
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        current = _status(limited, token, image["id"])
        if current["status"] == "queued":
            break
        time.sleep(0.2)
    assert current["status"] == "queued", current
    usage = _call(limited, "GET", "/v2/info/usage", token).json()["usage"]
    assert usage["image_size_total"]["usage"] == 0


def test_keystone_unreachable_is_503(start_server):
    server = start_server({
        "DEFAULT": {"use_keystone_limits": "true"},
        "oslo_limit": {"endpoint_id": "x", "auth_type": "password",
                       "auth_url": f"http://127.0.0.1:{helpers.free_port()}",
                       "username": "glance", "password": "p", "user_domain_id": "default",
                       "system_scope": "all"},
    }, name="glance-limits-down")
    response = requests.post(server.url + "/v2/images", json={},
                             headers={**helpers.MEMBER, "Accept": "application/json"},
                             timeout=60)
    assert response.status_code == 503, response.text
    assert "could not be read from Keystone" in response.json()["message"]

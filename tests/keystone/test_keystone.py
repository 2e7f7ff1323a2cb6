"""glance behind keystonemiddleware auth_token, against a real Keystone."""

import uuid

import glanceclient
import openstack
import pytest
import requests
from glanceclient import exc as glance_exc


def _call(glance, method: str, path: str, token: str | None = None, **kwargs):
    headers = kwargs.pop("headers", {})
    if token:
        headers["X-Auth-Token"] = token
    return requests.request(method, glance.url + path, headers=headers, timeout=30,
                            **kwargs)


@pytest.fixture(scope="module")
def tokens(identities) -> dict[str, str]:
    return {name: ident.token() for name, ident in identities.items()}


def test_no_token_is_401_with_keystone_uri(glance, keystone):
    response = _call(glance, "GET", "/v2/images")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == f'Keystone uri="{keystone.url}"'


def test_bad_token_is_401(glance):
    response = _call(glance, "GET", "/v2/images", token="not-a-token")
    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers


def test_versions_need_no_token(glance):
    assert _call(glance, "GET", "/versions").status_code == 200


def test_context_comes_from_the_token(glance, tokens, identities):
    created = _call(glance, "POST", "/v2/images", tokens["alice-member"],
                    json={"name": "from-token"})
    assert created.status_code == 201, created.text
    assert created.json()["owner"] == identities["alice-member"].project_id


def test_reader_role_reads_but_cannot_write(glance, tokens):
    assert _call(glance, "GET", "/v2/images", tokens["alice-reader"]).status_code == 200
    denied = _call(glance, "POST", "/v2/images", tokens["alice-reader"], json={})
    assert denied.status_code == 403


def test_spoofed_identity_headers_are_ignored(glance, tokens, identities):
    """auth_token replaces client-sent identity headers with the token's."""
    spoof = {"X-Roles": "admin,member", "X-Project-Id": identities["bob-member"].project_id,
             "X-Identity-Status": "Confirmed", "OpenStack-System-Scope": "all"}
    denied = _call(glance, "POST", "/v2/images", tokens["alice-reader"], json={},
                   headers=dict(spoof))
    assert denied.status_code == 403
    created = _call(glance, "POST", "/v2/images", tokens["alice-member"], json={},
                    headers=dict(spoof))
    assert created.status_code == 201
    assert created.json()["owner"] == identities["alice-member"].project_id
    assert _call(glance, "GET", "/v2/images", headers=dict(spoof)).status_code == 401


def test_system_scoped_token_is_refused(glance, tokens):
    assert _call(glance, "GET", "/v2/images", tokens["system-admin"]).status_code == 403
    assert _call(glance, "POST", "/v2/images", tokens["system-admin"],
                 json={}).status_code == 403
    # On one image a foreign scope is told what any outsider is: 404 (tempest RBAC).
    image = _call(glance, "POST", "/v2/images", tokens["alice-member"], json={}).json()
    for method in ("GET", "DELETE"):
        assert _call(glance, method, f"/v2/images/{image['id']}",
                     tokens["system-admin"]).status_code == 404
    assert _call(glance, "GET", f"/v2/images/{image['id']}/members/x",
                 tokens["system-admin"]).status_code == 404


def test_domain_scoped_token_is_refused(glance, tokens):
    assert _call(glance, "GET", "/v2/images", tokens["domain-admin"]).status_code == 403


def test_implied_roles_reach_the_context(glance, tokens, identities):
    """alice-admin holds only 'admin'; Keystone's implied roles add member and reader."""
    created = _call(glance, "POST", "/v2/images", tokens["alice-admin"],
                    json={"name": "by-implied-member", "visibility": "public"})
    assert created.status_code == 201, created.text
    assert created.json()["owner"] == identities["alice-admin"].project_id


def test_projects_are_isolated_and_sharing_works(glance, tokens, identities):
    image = _call(glance, "POST", "/v2/images", tokens["alice-member"],
                  json={"name": "to-share"}).json()
    path = f"/v2/images/{image['id']}"
    assert _call(glance, "GET", path, tokens["bob-member"]).status_code == 404
    assert _call(glance, "GET", path, tokens["alice-admin"]).status_code == 200
    bob = identities["bob-member"].project_id
    added = _call(glance, "POST", path + "/members", tokens["alice-member"],
                  json={"member": bob})
    assert added.status_code == 200, added.text
    assert _call(glance, "GET", path, tokens["bob-member"]).status_code == 200
    accepted = _call(glance, "PUT", f"{path}/members/{bob}", tokens["bob-member"],
                     json={"status": "accepted"})
    assert accepted.json()["status"] == "accepted"
    listed = _call(glance, "GET", "/v2/images", tokens["bob-member"]).json()["images"]
    assert image["id"] in [i["id"] for i in listed]


def test_glanceclient_with_keystone_session(glance, identities):
    alice = glanceclient.Client("2", session=identities["alice-member"].session())
    image = alice.images.create(name="via-glanceclient", visibility="shared")
    bob_project = identities["bob-member"].project_id
    member = alice.image_members.create(image.id, bob_project)
    assert member.status == "pending"
    bob = glanceclient.Client("2", session=identities["bob-member"].session())
    assert image.id not in [i.id for i in bob.images.list()]
    assert image.id in [i.id for i in bob.images.list(
        filters={"member_status": "pending"})]
    bob.image_members.update(image.id, bob_project, "accepted")
    assert image.id in [i.id for i in bob.images.list()]
    assert [m.member_id for m in bob.image_members.list(image.id)] == [bob_project]
    with pytest.raises(glance_exc.HTTPForbidden):
        bob.image_members.create(image.id, "someone-else")
    with pytest.raises(glance_exc.HTTPForbidden):
        bob.images.update(image.id, name="not-yours")
    alice.image_members.delete(image.id, bob_project)
    with pytest.raises(glance_exc.HTTPNotFound):
        bob.images.get(image.id)
    with pytest.raises(glance_exc.HTTPNotFound):
        bob.images.get(str(uuid.uuid4()))


def test_openstacksdk_with_keystone_session(glance, identities):
    conn = openstack.connection.Connection(
        session=identities["alice-member"].session(), region_name="RegionOne")
    image = conn.image.create_image(name="via-sdk", disk_format="raw",
                                    container_format="bare", allow_duplicates=True)
    assert image.owner == identities["alice-member"].project_id
    assert image.id in [i.id for i in conn.image.images()]
    bob = openstack.connection.Connection(session=identities["bob-member"].session(),
                                          region_name="RegionOne")
    assert bob.image.find_image(image.id, ignore_missing=True) is None
    bob_project = identities["bob-member"].project_id
    member = conn.image.add_member(image, member_id=bob_project)
    assert member.status == "pending"
    bob.image.update_member(bob_project, image.id, status="accepted")
    assert [m.status for m in conn.image.members(image)] == ["accepted"]
    assert image.id in [i.id for i in bob.image.images()]
    assert bob.image.get_image(image.id).owner == identities["alice-member"].project_id

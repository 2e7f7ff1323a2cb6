"""Hierarchical image access against the real Keystone of the identity tier.

Two new domains: in ``d1`` a tree ``top`` -> {``owner``, ``sibling``},
``owner`` -> ``child`` -> ``grandchild`` (and ``mover``, first under
``sibling``); in ``d2`` one project ``foreign``. ``owner`` shares images with its
own subtree, its parent's subtree and its domain; the permission matrix checks
show, list, download and the member listing for every caller. See
doc/source/contributor/specs/hierarchical-image-access.rst.
"""

import sqlite3
import time
import uuid

import pytest
import requests
from keystoneclient import exceptions as ks_http

from tests.keystone import harness
from tests.keystone.conftest import Identity

TTL = 2
DATA = b"hierarchical image data " * 100
LINEAGE_USER, LINEAGE_PASSWORD = "glance-lineage", "pw-glance-lineage"


def _sections(keystone, enabled: bool, ttl: int = TTL) -> dict:
    return {
        "DEFAULT": {"hierarchical_image_access": str(enabled),
                    "hierarchical_access_cache_ttl": str(ttl)},
        "paste_deploy": {"flavor": "keystone"},
        "keystone_authtoken": {
            "www_authenticate_uri": keystone.url, "auth_url": keystone.url,
            "auth_type": "password", "username": LINEAGE_USER,
            "password": LINEAGE_PASSWORD, "project_name": "service",
            "user_domain_id": "default", "project_domain_id": "default",
            "region_name": harness.REGION,
        },
    }


class Tree:
    """The domains, projects and one token per caller."""

    def __init__(self, keystone, admin_client, identities) -> None:
        ks = admin_client
        roles = {role.name: role for role in ks.roles.list()}
        tag = uuid.uuid4().hex[:6]
        self.domains = {name: ks.domains.create(name=f"{name}-{tag}")
                        for name in ("d1", "d2")}
        d1, d2 = self.domains["d1"], self.domains["d2"]
        top = ks.projects.create(name="top", domain=d1)
        owner = ks.projects.create(name="owner", domain=d1, parent=top)
        sibling = ks.projects.create(name="sibling", domain=d1, parent=top)
        child = ks.projects.create(name="child", domain=d1, parent=owner)
        grandchild = ks.projects.create(name="grandchild", domain=d1, parent=child)
        mover = ks.projects.create(name="mover", domain=d1, parent=sibling)
        foreign = ks.projects.create(name="foreign", domain=d2)
        self.projects = {p.name: p for p in (top, owner, sibling, child, grandchild,
                                             mover, foreign)}
        self.client = ks
        # The service user glance reads projects with (Keystone's default policy
        # lets the admin role show any project).
        service = ks.projects.find(name="service")
        lineage_user = ks.users.create(name=LINEAGE_USER, domain="default",
                                       password=LINEAGE_PASSWORD)
        for role in ("service", "admin"):
            ks.roles.grant(roles[role], user=lineage_user, project=service)
        plan = [(name, name, "member") for name in self.projects]
        plan.append(("child-reader", "child", "reader"))
        self.tokens: dict[str, str] = {}
        for name, project, role in plan:
            user = ks.users.create(name=f"{name}-{tag}", domain="default",
                                   password=f"pw-{name}")
            ks.roles.grant(roles[role], user=user, project=self.projects[project])
            self.tokens[name] = Identity(f"{name}-{tag}", f"pw-{name}",
                                         self.projects[project].id, user.id,
                                         keystone.url + "/v3").token()
        self.tokens["admin"] = Identity("admin", harness.ADMIN_PASSWORD,
                                        ks.projects.find(name="admin").id,
                                        ks.users.find(name="admin").id,
                                        keystone.url + "/v3").token()


@pytest.fixture(scope="module")
def tree(keystone, admin_client, identities) -> Tree:
    return Tree(keystone, admin_client, identities)


@pytest.fixture(scope="module")
def hier(start_server, keystone, tree):
    return start_server(_sections(keystone, True), name="glance-hierarchical")


@pytest.fixture(scope="module")
def cached(start_server, keystone, tree, hier):
    """A TTL longer than any test, so that Keystone reads are counted however slow
    the machine; on hier's database (it sees the same images)."""
    sections = _sections(keystone, True, ttl=600)
    sections["database"] = {"connection": f"sqlite:///{hier.state_path}/glance.sqlite"}
    return start_server(sections, name="glance-lineage-cache")


@pytest.fixture(scope="module")
def plain(start_server, keystone, tree):
    return start_server(_sections(keystone, False), name="glance-hierarchy-off")


def _call(server, method: str, path: str, token: str, **kwargs) -> requests.Response:
    headers = {"X-Auth-Token": token, **kwargs.pop("headers", {})}
    return requests.request(method, server.url + path, headers=headers, timeout=30,
                            **kwargs)


def _image(server, token: str, name: str, visibility: str = "shared") -> str:
    response = _call(server, "POST", "/v2/images", token, json={
        "name": name, "visibility": visibility, "disk_format": "raw",
        "container_format": "bare"})
    assert response.status_code == 201, response.text
    image_id = response.json()["id"]
    upload = _call(server, "PUT", f"/v2/images/{image_id}/file", token, data=DATA,
                   headers={"Content-Type": "application/octet-stream"})
    assert upload.status_code == 204, upload.text
    return image_id


def _share(server, token: str, image_id: str, member: str, scope: str | None = None):
    body = {"member": member}
    if scope is not None:
        body["scope"] = scope
    return _call(server, "POST", f"/v2/images/{image_id}/members", token, json=body)


@pytest.fixture(scope="module")
def images(hier, tree) -> dict[str, str]:
    """owner's images: one per kind of share, and two that use no new feature."""
    token, projects = tree.tokens["owner"], tree.projects
    found = {name: _image(hier, token, name) for name in
             ("own-subtree", "top-subtree", "domain", "direct", "unshared")}
    found["private"] = _image(hier, token, "private", "private")
    for name, member, scope in (("own-subtree", projects["owner"].id, "subtree"),
                                ("top-subtree", projects["top"].id, "subtree"),
                                ("domain", tree.domains["d1"].id, "domain"),
                                ("direct", projects["child"].id, None)):
        response = _share(hier, token, found[name], member, scope)
        assert response.status_code == 200, response.text
    accept = _call(hier, "PUT", f"/v2/images/{found['direct']}/members/"
                   f"{projects['child'].id}", tree.tokens["child"],
                   json={"status": "accepted"})
    assert accept.status_code == 200, accept.text
    return found


# Who sees which image (show, list, download, member listing); everyone else: 404.
EVERYONE_IN_D1 = {"owner", "sibling", "child", "grandchild", "top", "child-reader"}
SEES = {
    "own-subtree": {"owner", "child", "grandchild", "child-reader"},
    "top-subtree": EVERYONE_IN_D1,
    "domain": EVERYONE_IN_D1,
    "direct": {"owner", "child", "child-reader"},
    "unshared": {"owner"},
    "private": {"owner"},
}
CALLERS = ("owner", "sibling", "child", "grandchild", "top", "foreign", "admin",
           "child-reader")
CELLS = [(caller, image) for caller in CALLERS for image in SEES]


def _sees(caller: str, image: str) -> bool:
    return caller == "admin" or caller in SEES[image]


@pytest.mark.parametrize(("caller", "image"), CELLS)
def test_show_and_download(hier, tree, images, caller, image):
    token = tree.tokens[caller]
    show = _call(hier, "GET", f"/v2/images/{images[image]}", token)
    data = _call(hier, "GET", f"/v2/images/{images[image]}/file", token)
    if _sees(caller, image):
        assert show.status_code == 200, show.text
        assert show.json()["visibility"] == ("private" if image == "private" else "shared")
        if caller == "child-reader":  # download_image needs the member role (Glance's)
            assert data.status_code == 403, data.text
            return
        assert data.status_code == 200 and data.content == DATA
        ranged = _call(hier, "GET", f"/v2/images/{images[image]}/file", token,
                       headers={"Range": "bytes=0-9"})  # a boot-style partial read
        assert ranged.status_code == 206 and ranged.content == DATA[:10]
    else:
        assert show.status_code == 404, show.text
        assert data.status_code == 404, data.text


@pytest.mark.parametrize("caller", CALLERS)
def test_list(hier, tree, images, caller):
    response = _call(hier, "GET", "/v2/images?limit=100", tree.tokens[caller])
    assert response.status_code == 200, response.text
    listed = {image["id"] for image in response.json()["images"]}
    for name, image_id in images.items():
        assert (image_id in listed) == _sees(caller, name), (caller, name)


@pytest.mark.parametrize("caller", CALLERS)
def test_list_shared_only(hier, tree, images, caller):
    response = _call(hier, "GET", "/v2/images?visibility=shared&limit=100",
                     tree.tokens[caller])
    listed = {image["id"] for image in response.json()["images"]}
    for name, image_id in images.items():
        expected = _sees(caller, name) and name != "private"
        assert (image_id in listed) == expected, (caller, name)


def _member_ids(response) -> set[str]:
    return {member["member_id"] for member in response.json()["members"]}


@pytest.mark.parametrize(("caller", "image"), [cell for cell in CELLS
                                               if cell[1] != "private"])
def test_member_listing(hier, tree, images, caller, image):
    """The owner and admins see every entry; a covered project sees the entries
    that cover it (its own, as a plain member sees its own)."""
    response = _call(hier, "GET", f"/v2/images/{images[image]}/members",
                     tree.tokens[caller])
    if not _sees(caller, image):
        assert response.status_code == 404, response.text
        return
    assert response.status_code == 200, response.text
    all_members = {"own-subtree": {tree.projects["owner"].id},
                   "top-subtree": {tree.projects["top"].id},
                   "domain": {tree.domains["d1"].id},
                   "direct": {tree.projects["child"].id}, "unshared": set()}[image]
    if caller in ("owner", "admin"):
        assert _member_ids(response) == all_members
    else:
        assert _member_ids(response) == all_members  # the entry that covers it
    for member in response.json()["members"]:
        if image == "direct":
            assert "scope" not in member  # old clients see an ordinary member
        else:
            assert member["scope"] in ("subtree", "domain")
            assert member["status"] == "accepted"


def test_covered_member_shows_its_covering_entry(hier, tree, images):
    top = tree.projects["top"].id
    path = f"/v2/images/{images['top-subtree']}/members/{top}"
    shown = _call(hier, "GET", path, tree.tokens["grandchild"])
    assert shown.status_code == 200 and shown.json()["scope"] == "subtree"
    assert _call(hier, "GET", path, tree.tokens["foreign"]).status_code == 404


def test_scoped_entry_status_cannot_change(hier, tree, images):
    owner = tree.projects["owner"].id
    path = f"/v2/images/{images['own-subtree']}/members/{owner}"
    # The owner is no member: modify_member refuses it first, as in Glance.
    response = _call(hier, "PUT", path, tree.tokens["owner"], json={"status": "rejected"})
    assert response.status_code == 403
    for caller in ("child", "admin"):
        response = _call(hier, "PUT", path, tree.tokens[caller], json={"status": "rejected"})
        assert response.status_code == 403, (caller, response.text)
        assert "cannot be changed" in response.text
    members = _call(hier, "GET", f"/v2/images/{images['own-subtree']}/members",
                    tree.tokens["owner"]).json()["members"]
    assert [m["status"] for m in members] == ["accepted"]


def test_reader_cannot_share(hier, tree, images):
    response = _share(hier, tree.tokens["child-reader"], images["own-subtree"],
                      tree.projects["child"].id, "subtree")
    assert response.status_code in (403, 404)


def test_sharing_rules(hier, tree):
    token, projects = tree.tokens["owner"], tree.projects
    image_id = _image(hier, token, "rules")
    cases = [
        ({"member": projects["sibling"].id, "scope": "subtree"}, 403, "subtree"),
        ({"member": projects["child"].id, "scope": "subtree"}, 403, "subtree"),
        ({"member": projects["foreign"].id, "scope": "subtree"}, 403, "subtree"),
        ({"member": tree.domains["d2"].id, "scope": "domain"}, 403, "domain"),
        ({"member": projects["top"].id, "scope": "domain"}, 403, "domain"),
        ({"member": projects["top"].id, "scope": "bogus"}, 400, "scope"),
        ({"member": projects["top"].id, "scope": 7}, 400, "scope"),
    ]
    for body, status, word in cases:
        response = _call(hier, "POST", f"/v2/images/{image_id}/members", token, json=body)
        assert response.status_code == status, (body, response.text)
        assert word in response.text, (body, response.text)
    # "project" is today's membership: pending, shown without a scope.
    response = _share(hier, token, image_id, projects["sibling"].id, "project")
    assert response.status_code == 200 and "scope" not in response.json()
    assert response.json()["status"] == "pending"
    # An administrator may share any subtree.
    response = _share(hier, tree.tokens["admin"], image_id, projects["foreign"].id,
                      "subtree")
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "subtree"


def test_schemas_offer_scope_only_when_enabled(hier, plain, tree):
    for server, present in ((hier, True), (plain, False)):
        member = _call(server, "GET", "/v2/schemas/member", tree.tokens["owner"]).json()
        assert ("scope" in member["properties"]) is present
        members = _call(server, "GET", "/v2/schemas/members", tree.tokens["owner"]).json()
        assert ("scope" in members["properties"]["members"]["items"]["properties"]) \
            is present


def test_feature_off_rejects_scope(plain, tree):
    image_id = _image(plain, tree.tokens["owner"], "off")
    response = _share(plain, tree.tokens["owner"], image_id, tree.projects["owner"].id,
                      "subtree")
    assert response.status_code == 400
    assert "not enabled" in response.text
    response = _share(plain, tree.tokens["owner"], image_id, tree.projects["child"].id)
    assert response.status_code == 200 and "scope" not in response.json()


def _visible(server, token: str, image_id: str) -> bool:
    return _call(server, "GET", f"/v2/images/{image_id}", token).status_code == 200


def _wait_for(condition, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if condition():
            return time.monotonic() - start
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s")


def _reparent(keystone, tree, project, parent) -> None:
    """Give ``project`` a new parent in Keystone. Through the API where Keystone
    allows it; this Keystone answers 403 "Update of `parent_id` is not allowed."
    (keystone.resource.core), so then in its database (its cache is off, so the
    API shows the change at once)."""
    try:
        tree.client.projects.update(project, parent_id=parent.id)
    except ks_http.Forbidden:
        database = sqlite3.connect(keystone.workdir / "keystone.db")
        with database:
            database.execute("UPDATE project SET parent_id = ? WHERE id = ?",
                             (parent.id, project.id))
        database.close()
    assert tree.client.projects.get(project.id).parent_id == parent.id


def _project_reads(keystone, project_id: str) -> int:
    text = keystone.access_log.read_text()
    return text.count(f"GET /v3/projects/{project_id}?parents_as_ids")


def test_lineage_is_cached_per_project(keystone, cached, tree, images):
    """Within the TTL a project is read from Keystone at most once per worker, and
    a list of many images reads it once, not per image."""
    token, project_id = tree.tokens["sibling"], tree.projects["sibling"].id
    before = _project_reads(keystone, project_id)
    for _ in range(6):
        assert _visible(cached, token, images["domain"])
        listed = _call(cached, "GET", "/v2/images?limit=100", token).json()["images"]
        assert images["top-subtree"] in {image["id"] for image in listed}
    time.sleep(0.5)  # gunicorn writes its access log after the response
    assert 1 <= _project_reads(keystone, project_id) - before <= 2  # 2 glance workers


def test_moving_a_project_takes_effect_within_the_ttl(keystone, hier, tree, images):
    """``mover`` under ``sibling``: not in owner's subtree. Moved under ``child`` it
    gains own-subtree within the cache TTL; moved back it loses it."""
    mover, token = tree.projects["mover"], tree.tokens["mover"]
    image_id = images["own-subtree"]
    assert not _visible(hier, token, image_id)
    assert _visible(hier, token, images["top-subtree"])
    moved_at = time.monotonic()
    _reparent(keystone, tree, mover, tree.projects["child"])
    try:
        waited = _wait_for(lambda: _visible(hier, token, image_id), TTL + 3)
        assert waited <= TTL + 1
        # Each worker has its own cache: once a TTL has passed since the move, every
        # worker's entry is younger than the move.
        time.sleep(max(0.0, moved_at + TTL + 0.5 - time.monotonic()))
        listed = _call(hier, "GET", "/v2/images?limit=100", token).json()["images"]
        assert image_id in {image["id"] for image in listed}
        shown = _call(hier, "GET", f"/v2/images/{image_id}/file", token)
        assert shown.status_code == 200 and shown.content == DATA
    finally:
        _reparent(keystone, tree, mover, tree.projects["sibling"])
    waited = _wait_for(lambda: not _visible(hier, token, image_id), TTL + 3)
    assert waited <= TTL + 1
    assert _visible(hier, token, images["top-subtree"])  # still under top

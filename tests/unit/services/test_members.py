"""MemberService rules with injected collaborators (no database, no policy file)."""

from types import SimpleNamespace

import pytest

from glance import exception
from glance.domain import image as domain
from glance.services.access import ImageAccess
from glance.services.members import MemberService


class FakeAccess(ImageAccess):
    """The real per-image policy checks over one image (no repository lookup)."""

    def __init__(self, image: domain.Image, enforcer) -> None:
        super().__init__(db=None, enforcer=enforcer)
        self.image = image

    def get(self, context, image_id: str) -> domain.Image:
        return self.image


class AllowAll:
    """A policy that allows everything: the service's own floors must still hold."""

    InvalidScope = exception.PolicyNotAuthorized

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def authorize(self, context, action: str, target: dict) -> None:
        self.calls.append((action, target))

    def filter_allowed(self, context, action: str, items, target_of) -> list:
        items = list(items)
        self.calls += [(action, target_of(item)) for item in items]
        return items


class FakeDB:
    def __init__(self) -> None:
        self.rows: dict[str, dict] = {}

    def image_member_create(self, image_id, member, quota, scope=None):
        self.rows[member] = {"image_id": image_id, "member": member, "scope": scope,
                             "status": "accepted" if scope else "pending"}
        return self.rows[member]

    def image_member_find(self, image_id, member=None):
        return [r for m, r in self.rows.items() if member is None or m == member]

    def image_member_find_covering(self, image_id, project, lineage=None):
        return self.image_member_find(image_id, project)

    def image_member_get(self, image_id, member):
        if member not in self.rows:
            raise exception.NotFound(member)
        return self.rows[member]

    def image_member_update(self, image_id, member, status):
        self.rows[member]["status"] = status
        return self.rows[member]

    def image_member_delete(self, image_id, member):
        del self.rows[member]


def _ctx(project: str | None, admin: bool = False):
    return SimpleNamespace(owner=project, project_id=project, is_admin=admin)


@pytest.fixture
def setup():
    image = domain.Image(id="11111111-2222-3333-4444-555555555555", owner="owner",
                         visibility="shared")
    policy, db = AllowAll(), FakeDB()
    return MemberService(db, FakeAccess(image, policy)), image, policy, db


def test_member_rules_get_the_image_target_as_in_glance(setup):
    """member_id is the calling member project, not the membership the call names."""
    service, image, policy, db = setup
    service.create(_ctx("owner"), image.id, "p2")
    action, target = policy.calls[-1]
    assert action == "add_member"
    assert target["project_id"] == "owner" and target["member_id"] is None
    service.update(_ctx("p2"), image.id, "p2", "accepted")
    action, target = policy.calls[-1]
    assert action == "modify_member"
    assert target["project_id"] == "owner" and target["member_id"] == "p2"


def test_non_owner_cannot_add_or_remove_even_if_policy_allows(setup):
    service, image, _policy, db = setup
    db.image_member_create(image.id, "p2", 10)
    with pytest.raises(exception.Forbidden):
        service.create(_ctx("p2"), image.id, "p3")
    with pytest.raises(exception.Forbidden):
        service.delete(_ctx("p2"), image.id, "p2")


def test_only_the_member_changes_its_status(setup):
    service, image, _policy, db = setup
    db.image_member_create(image.id, "p2", 10)
    with pytest.raises(exception.Forbidden):
        service.update(_ctx("owner"), image.id, "p2", "accepted")
    assert service.update(_ctx("p2"), image.id, "p2", "accepted")["status"] == "accepted"
    assert service.update(_ctx(None, admin=True), image.id, "p2", "rejected")[
        "status"] == "rejected"


def test_bad_status_is_400(setup):
    service, image, _policy, _db = setup
    with pytest.raises(exception.BadRequest):
        service.update(_ctx("p2"), image.id, "p2", "maybe")


def test_member_lists_only_itself(setup):
    service, image, _policy, db = setup
    for project in ("p2", "p3"):
        db.image_member_create(image.id, project, 10)
    assert [m["member"] for m in service.list(_ctx("p2"), image.id)] == ["p2"]
    assert len(service.list(_ctx("owner"), image.id)) == 2


def test_other_memberships_are_not_found(setup):
    service, image, _policy, db = setup
    db.image_member_create(image.id, "p3", 10)
    with pytest.raises(exception.NotFound):
        service.get(_ctx("p2"), image.id, "p3")


@pytest.mark.parametrize("visibility", ["private", "public", "community"])
def test_only_shared_images_have_members(setup, visibility):
    service, image, _policy, _db = setup
    image.visibility = visibility
    with pytest.raises(exception.Forbidden, match="Only shared images have members"):
        service.create(_ctx("owner"), image.id, "p2")
    with pytest.raises(exception.Forbidden):
        service.list(_ctx("owner"), image.id)

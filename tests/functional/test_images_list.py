"""GET /v2/images: filters, operators, sorting, pagination and their bad-input answers."""

import uuid

import pytest

from tests import helpers

JSON = {"Accept": "application/json"}


@pytest.fixture
def project():
    """A fresh project (member role), so the listing holds only this test's images."""
    return helpers.identity("member,reader", project=uuid.uuid4().hex, user="lister")


def make(app, headers, **body):
    return app.post_json("/v2/images", body, headers=headers).json


def names(app, headers, query=""):
    """Names of the listed images that this test's project owns (public images made
    by other tests running on the same database are left out)."""
    response = app.get(f"/v2/images{query}", headers=headers)
    owner = headers.get("X-Project-Id")
    return [image["name"] for image in response.json["images"] if image["owner"] == owner]


@pytest.fixture
def five(app, project):
    images = [make(app, project, name=f"img{i}", disk_format="raw" if i % 2 else "qcow2",
                   container_format="bare", min_ram=i * 100, tags=["even" if i % 2 == 0
                                                                   else "odd", "all"],
                   prop=f"v{i % 3}", protected=i == 4)
              for i in range(5)]
    return images


def test_default_order_is_newest_first(app, project, five):
    assert names(app, project) == ["img4", "img3", "img2", "img1", "img0"]


@pytest.mark.parametrize("query,expected", [
    ("?name=img2", ["img2"]),
    ("?name=in:img1,img3", ["img3", "img1"]),
    ("?disk_format=qcow2", ["img4", "img2", "img0"]),
    ("?disk_format=in:raw", ["img3", "img1"]),
    ("?tag=even", ["img4", "img2", "img0"]),
    ("?tag=even&tag=all", ["img4", "img2", "img0"]),
    ("?tag=even&tag=odd", []),
    ("?prop=v1", ["img4", "img1"]),
    ("?prop=in:v0,v2", ["img3", "img2", "img0"]),
    ("?protected=true", ["img4"]),
    ("?protected=false", ["img3", "img2", "img1", "img0"]),
    ("?min_ram=200", ["img2"]),
    ("?status=queued&container_format=bare", ["img4", "img3", "img2", "img1", "img0"]),
    ("?status=active", []),
    ("?visibility=shared", ["img4", "img3", "img2", "img1", "img0"]),
    ("?visibility=private", []),
    ("?sort_key=name&sort_dir=asc", ["img0", "img1", "img2", "img3", "img4"]),
    ("?sort=name:asc", ["img0", "img1", "img2", "img3", "img4"]),
    ("?sort=disk_format:asc,name:desc", ["img4", "img2", "img0", "img3", "img1"]),
    ("?sort_key=min_ram&sort_key=name&sort_dir=desc", ["img4", "img3", "img2", "img1",
                                                        "img0"]),
])
def test_filters_and_sorting(app, project, five, query, expected):
    assert names(app, project, query) == expected


def test_size_and_date_filters(app, project, five):
    created = five[2]["created_at"]
    assert names(app, project, "?size_min=1") == []
    assert len(names(app, project, "?size_max=0")) == 0
    assert "img4" in names(app, project, f"?created_at=gte:{created}")
    assert names(app, project, "?created_at=lt:2000-01-01T00:00:00Z") == []
    assert len(names(app, project, "?updated_at=gt:2000-01-01T00:00:00Z")) == 5


def test_hidden_images_listed_only_on_request(app, project):
    make(app, project, name="shown")
    make(app, project, name="hidden", os_hidden=True)
    assert names(app, project) == ["shown"]
    assert names(app, project, "?os_hidden=true") == ["hidden"]


def test_pagination_links(app, project, five):
    owner = project["X-Project-Id"]
    first = app.get(f"/v2/images?limit=2&sort=name:asc&owner={owner}", headers=project).json
    assert [i["name"] for i in first["images"]] == ["img0", "img1"]
    assert first["first"] == f"/v2/images?limit=2&sort=name%3Aasc&owner={owner}"
    assert first["next"] == (f"/v2/images?limit=2&sort=name%3Aasc&owner={owner}"
                             f"&marker={five[1]['id']}")
    assert first["schema"] == "/v2/schemas/images"
    second = app.get(first["next"], headers=project).json
    assert [i["name"] for i in second["images"]] == ["img2", "img3"]
    third = app.get(second["next"], headers=project).json
    assert [i["name"] for i in third["images"]] == ["img4"]
    assert "next" not in third


def test_full_last_page_still_has_next(app, project):
    make(app, project, name="a")
    make(app, project, name="b")
    body = app.get(f"/v2/images?limit=2&owner={project['X-Project-Id']}", headers=project).json
    assert "next" in body
    assert app.get(body["next"], headers=project).json["images"] == []


def test_limit_defaults_and_caps(app, project, override):
    for i in range(4):
        make(app, project, name=f"n{i}")
    override("limit_param_default", 2)
    override("api_limit_max", 3)
    owner = f"?owner={project['X-Project-Id']}"
    assert len(names(app, project, owner)) == 2
    assert len(names(app, project, owner + "&limit=100")) == 3
    assert names(app, project, owner + "&limit=0") == []


@pytest.mark.parametrize("query,message", [
    ("?limit=-1", "limit param must be positive"),
    ("?limit=abc", "limit param must be an integer"),
    ("?sort_key=bogus", "Invalid sort key: bogus"),
    ("?sort_dir=sideways", "Invalid sort direction: sideways"),
    ("?sort=name:up", "Invalid sort direction: up"),
    ("?sort=name&sort_key=name", "cannot be combined"),
    ("?sort=name,name", "only once"),
    ("?visibility=bogus", "Invalid visibility value: bogus"),
    ("?member_status=bogus", "Invalid status value: bogus"),
    ("?updated_at=bogus:2000", "unknown operator"),
    ("?created_at=gt:yesterday", "Invalid created_at filter value"),
    ("?size_min=big", "non-numeric"),
    ("?protected=maybe", "expected a boolean"),
    ("?os_hidden=maybe", "expected a boolean"),
    ("?min_ram=lots", "non-numeric"),
    ('?name=in:"a', "Unbalanced quotes"),
    ("?marker=" + str(uuid.UUID(int=5)), "No image found with ID"),
    ("?marker=bad", "No image found with ID bad"),
])
def test_bad_list_parameters(app, project, query, message):
    response = app.get(f"/v2/images{query}", headers={**project, **JSON}, status=400)
    assert message in response.json["message"]


def test_reader_can_list_and_other_projects_see_nothing(app, project, five):
    reader = {**project, "X-Roles": "reader"}
    assert len(names(app, reader)) == 5
    assert not set(names(app, helpers.identity("member,reader", project=uuid.uuid4().hex))) & {
        "img0", "img1", "img2", "img3", "img4"}


def test_admin_sees_other_projects_images(app, five):
    ids = {i["id"] for i in app.get("/v2/images?limit=1000", headers=helpers.ADMIN)
           .json["images"]}
    assert {i["id"] for i in five} <= ids


# -- [DEFAULT] max_list_filters ----------------------------------------------------------

def _tags(n: int, prefix: str = "t") -> str:
    return "&".join(f"tag={prefix}{i}" for i in range(n))


def test_too_many_filters_is_400_naming_the_limit(app, project):
    response = app.get(f"/v2/images?{_tags(1000)}", headers={**project, **JSON}, status=400)
    message = response.json["message"]
    assert "1000" in message and "100" in message and "max_list_filters" in message
    assert "Retry-After" not in response.headers


def test_filters_up_to_the_limit_are_served(app, project):
    tags = [f"t{i}" for i in range(100)]
    make(app, project, name="many-tags", tags=tags)
    assert names(app, project, f"?{_tags(100)}") == ["many-tags"]
    assert names(app, project, f"?{_tags(99)}&tag=absent") == []


@pytest.mark.parametrize("query,count", [
    ("tag=a&tag=b&name=x", 3),
    ("foo=1&bar=in:1,2,3&tag=a", 3),  # an in: list is one filter
    ("foo=1&foo=2", 2),  # a repeated parameter counts each time
    ("created_at=gt:2000-01-01T00:00:00Z&size_min=1&size_max=9&protected=false"
     "&os_hidden=true&min_ram=0&status=active", 7),
])
def test_every_filter_parameter_counts(app, project, override, query, count):
    override("max_list_filters", count)
    app.get(f"/v2/images?{query}", headers=project, status=200)
    override("max_list_filters", count - 1)
    response = app.get(f"/v2/images?{query}", headers={**project, **JSON}, status=400)
    assert f"{count} filters" in response.json["message"]


def test_paging_and_sorting_do_not_count(app, project, override):
    override("max_list_filters", 1)
    app.get("/v2/images?limit=5&sort_key=name&sort_dir=asc&visibility=all"
            "&member_status=all&tag=a", headers=project, status=200)
    app.get("/v2/images?sort=name:asc,created_at&tag=a", headers=project, status=200)


@pytest.mark.parametrize("sort", ["", "&sort=name:asc", "&sort=name:desc",
                                  "&sort=name:asc,size:desc", "&sort_key=size&sort_dir=asc",
                                  "&sort=min_ram:desc", "&sort=created_at:asc",
                                  "&sort=protected:asc"])
def test_walking_pages_after_markers_returns_every_image_once(app, project, sort):
    """Pages after a marker (a keyset seek: glance/db/sqlalchemy/paging.py) together
    list what one page lists, in the same order, with ties on every sort key.

    (Images without a name are left out: after a marker whose sort value is NULL,
    oslo.db's keyset condition, the one OpenStack Glance uses, skips and repeats
    rows, in both implementations.)
    """
    for i in range(9):
        make(app, project, name=f"n{i % 2}", min_ram=i % 3, protected=i % 4 == 0)
    owner = project["X-Project-Id"]
    everything = app.get(f"/v2/images?limit=100&owner={owner}{sort}", headers=project).json
    expected = [image["id"] for image in everything["images"]]
    assert len(expected) == 9
    walked, page = [], app.get(f"/v2/images?limit=2&owner={owner}{sort}", headers=project).json
    while True:
        walked += [image["id"] for image in page["images"]]
        if "next" not in page:
            break
        page = app.get(page["next"], headers=project).json
    assert walked == expected

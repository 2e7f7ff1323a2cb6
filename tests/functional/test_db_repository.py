"""The image repository on every supported database: SQLite, MariaDB and PostgreSQL.

Each backend gets a throwaway database, migrated with the real alembic chain,
and is dropped afterwards. The servers are the machine's own (127.0.0.1:3306
root without password, 127.0.0.1:5432 trust auth)."""

import concurrent.futures
import uuid

import psycopg2
import pymysql
import pytest
import sqlalchemy as sa
from oslo_config import cfg
from oslo_utils import timeutils

import glance.conf  # noqa: F401 - registers [database]
from glance import context, exception
from glance.db import migration
from glance.db.queries import ImageQuery
from glance.db.sqlalchemy import api, engine, models, upload_api
from glance.hierarchy import Lineage

CONF = cfg.CONF


def _mysql_database():
    name = f"glance_test_{uuid.uuid4().hex[:12]}"
    connection = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    url = f"mysql+pymysql://root@127.0.0.1:3306/{name}?charset=utf8mb4"

    def drop():
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.close()
    return url, drop


def _postgresql_database():
    name = f"glance_test_{uuid.uuid4().hex[:12]}"
    connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres",
                                  dbname="postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"

    def drop():
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        connection.close()
    return url, drop


def _sqlite_database(tmp_path):
    return f"sqlite:///{tmp_path}/repo.sqlite", lambda: None


@pytest.fixture(params=["sqlite", "mysql", "postgresql"], scope="module")
def backend(request, tmp_path_factory):
    """A migrated, empty database on one backend, used through the global engine."""
    if request.param == "sqlite":
        url, drop = _sqlite_database(tmp_path_factory.mktemp("repo"))
    elif request.param == "mysql":
        url, drop = _mysql_database()
    else:
        url, drop = _postgresql_database()
    CONF.set_override("connection", url, group="database")
    engine.reset()
    migration.db_sync()
    yield request.param
    engine.reset()
    CONF.clear_override("connection", group="database")
    drop()


def _values(**extra):
    values = {"id": str(uuid.uuid4()), "status": "queued", "visibility": "shared",
              "min_disk": 0, "min_ram": 0, "protected": False, "os_hidden": False,
              "owner": "p1"}
    values.update(extra)
    return values


P1 = context.RequestContext(project_id="p1", roles=["member"])
P2 = context.RequestContext(project_id="p2", roles=["member"])
ADMIN = context.RequestContext(is_admin=True, roles=["admin"])


def test_migrated_schema_is_current(backend):
    assert migration.is_current()


def test_create_get_update_destroy(backend):
    created = api.image_create(_values(name="a"), {"k": "v", "long": "x" * 5000}, ["t1", "t2"])
    image = api.image_get(P1, created["id"])
    assert image["properties"] == {"k": "v", "long": "x" * 5000}
    assert sorted(image["tags"]) == ["t1", "t2"] and image["locations"] == []
    updated = api.image_update(P1, image["id"], {"name": "b"}, properties={"k2": "v2"},
                               tags=["t2", "t3"])
    assert updated["name"] == "b" and updated["properties"] == {"k2": "v2"}
    assert sorted(updated["tags"]) == ["t2", "t3"]
    api.image_tag_add(P1, image["id"], "t4", quota=-1)
    api.image_tag_delete(P1, image["id"], "t2")
    with pytest.raises(exception.TagNotFound):
        api.image_tag_delete(P1, image["id"], "t2")
    assert sorted(api.image_get(P1, image["id"])["tags"]) == ["t3", "t4"]
    with pytest.raises(exception.ImageNotFound):
        api.image_get(P2, image["id"])
    api.image_destroy(P1, image["id"])
    with pytest.raises(exception.ImageNotFound):
        api.image_get(ADMIN, image["id"])
    assert api.image_id_taken(image["id"])
    with pytest.raises(exception.ImageIdExists):
        api.image_create(_values(id=image["id"]), {}, [])


def _soft_deleted_tag(image_id: str, value: str) -> None:
    """A tag row as OpenStack Glance leaves it when the tag is removed."""
    with engine.writer_session() as session:
        session.add(models.ImageTag(image_id=image_id, value=value, deleted=True,
                                    deleted_at=timeutils.utcnow()))


def test_tags_next_to_rows_glance_soft_deleted(backend):
    """A database shared with (or adopted from) Glance holds soft-deleted tag rows of live
    images: tags come back through both write paths, and the rows do not stay."""
    image = api.image_create(_values(), {}, ["t1"])
    _soft_deleted_tag(image["id"], "t2")
    _soft_deleted_tag(image["id"], "t3")
    updated = api.image_update(P1, image["id"], {}, tags=["t1", "t2"])
    assert sorted(updated["tags"]) == ["t1", "t2"]
    api.image_tag_add(P1, image["id"], "t3", quota=-1)
    assert sorted(api.image_get(P1, image["id"])["tags"]) == ["t1", "t2", "t3"]
    with engine.reader_session() as session:
        rows = session.execute(sa.select(models.ImageTag.deleted).where(
            models.ImageTag.image_id == image["id"])).scalars().all()
    assert rows == [False, False, False]


def test_status_compare_and_set(backend):
    image = api.image_create(_values(), {}, [])
    api.image_update(P1, image["id"], {"status": "saving"}, expected_status="queued")
    with pytest.raises(exception.InvalidImageStatusTransition):
        api.image_update(P1, image["id"], {"status": "saving"}, expected_status="queued")


def test_the_uploading_node_is_recorded_with_the_status_or_not_at_all(backend):
    image = api.image_create(_values(), {}, [])
    host = "http://node-a:9292"
    api.image_update(P1, image["id"], {"status": "saving"}, expected_status="queued",
                     upload_host=host)
    assert (image["id"], host) in upload_api.uploads_elsewhere("http://node-b:9292")
    assert upload_api.uploads_elsewhere(host, image["id"]) == []  # its own: not elsewhere
    # A change that does not happen records no uploader either.
    other = api.image_create(_values(), {}, [])
    api.image_update(P1, other["id"], {"status": "active"})
    with pytest.raises(exception.InvalidImageStatusTransition):
        api.image_update(P1, other["id"], {"status": "saving"}, expected_status="queued",
                         upload_host=host)
    shown = api.image_get(P1, other["id"])
    assert upload_api.UPLOAD_HOST not in shown["properties"]
    # A reset puts the image back to queued and forgets the uploader.
    removed = []
    assert upload_api.reset(image["id"], host, lambda: removed.append(1))
    assert removed == [1]
    assert api.image_get(P1, image["id"])["status"] == "queued"
    assert upload_api.uploads_elsewhere(None, image["id"]) == []


def test_listing_filters_sort_and_pages(backend):
    owner = uuid.uuid4().hex
    ctx = context.RequestContext(project_id=owner, roles=["member"])
    ids = [api.image_create(_values(owner=owner, name=f"n{i}", size=i * 10,
                                    visibility="private" if i == 3 else "shared"),
                            {"group": str(i % 2)}, ["all", f"t{i}"])["id"] for i in range(6)]
    query = api.ImageQuery(sort=[("name", "asc")], limit=4)
    page = api.image_get_all(ctx, query)
    assert [i["name"] for i in page] == ["n0", "n1", "n2", "n3"]
    query.marker = page[-1]["id"]
    assert [i["name"] for i in api.image_get_all(ctx, query)] == ["n4", "n5"]
    query = api.ImageQuery(properties={"group": ["1"]}, tags=["all"],
                           filters=[api.Filter("size", "gte", 20)], sort=[("size", "desc")])
    assert [i["name"] for i in api.image_get_all(ctx, query)] == ["n5", "n3"]
    query = api.ImageQuery(filters=[api.Filter("name", "in", ["n1", "n4"])])
    assert {i["id"] for i in api.image_get_all(ctx, query)} == {ids[1], ids[4]}
    assert api.image_get_all(P2, api.ImageQuery(filters=[
        api.Filter("owner", "eq", owner)])) == []
    assert len(api.image_get_all(ADMIN, api.ImageQuery(filters=[
        api.Filter("owner", "eq", owner)]))) == 6
    with pytest.raises(exception.MarkerNotFound):
        api.image_get_all(P2, api.ImageQuery(marker=ids[0]))


def test_concurrent_writes(backend):
    def work(n):
        image = api.image_create(_values(name=f"c{n}"), {"a": "1"}, ["x"])
        for i in range(5):
            api.image_update(P1, image["id"], {"min_ram": i}, properties={"a": str(i)})
            api.image_tag_add(P1, image["id"], f"t{i}", quota=-1)
        return api.image_get(P1, image["id"])

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        images = list(pool.map(work, range(16)))
    assert all(image["min_ram"] == 4 and len(image["tags"]) == 6 for image in images)


def test_subtree_and_domain_members_cover_by_lineage(backend):
    """Hierarchical image access: a subtree entry covers the projects whose lineage
    names it, a domain entry the projects of the domain; no lineage: direct only."""
    subtree = api.image_create(_values(owner="o1"), {}, [])
    domain = api.image_create(_values(owner="o1"), {}, [])
    plain = api.image_create(_values(owner="o1"), {}, [])
    api.image_member_create(subtree["id"], "top", -1, "subtree")
    api.image_member_create(domain["id"], "d1", -1, "domain")
    api.image_member_create(plain["id"], "top", -1)
    assert api.image_member_get(subtree["id"], "top")["status"] == "accepted"

    def ctx(project, lineage=None):
        found = context.RequestContext(project_id=project, roles=["member"])
        found.project_lineage = lineage
        return found

    grandchild = ctx("gc", Lineage("gc", "d1", ("child", "top")))
    other_domain = ctx("x", Lineage("x", "d2", ()))
    ours = {subtree["id"], domain["id"], plain["id"]}

    def listed(caller, **query):
        return {i["id"] for i in api.image_get_all(caller, ImageQuery(limit=100, **query))}

    assert listed(grandchild) & ours == {subtree["id"], domain["id"]}
    assert api.image_get(grandchild, subtree["id"])["id"] == subtree["id"]
    assert listed(grandchild, member_status="pending") & ours == set()
    assert listed(other_domain) & ours == set()
    with pytest.raises(exception.ImageNotFound):
        api.image_get(other_domain, domain["id"])
    # The top project itself: its subtree entry, and its plain (pending) entry on show.
    top = ctx("top", Lineage("top", "d1", ()))
    assert listed(top) & ours == {subtree["id"], domain["id"]}
    assert api.image_get(top, plain["id"])["id"] == plain["id"]
    # Without a lineage (feature off) only direct entries count.
    assert listed(ctx("gc")) & ours == set()
    covering = api.image_member_find_covering(subtree["id"], "gc", grandchild.project_lineage)
    assert [(m["member"], m["scope"]) for m in covering] == [("top", "subtree")]

"""Delayed delete across a mixed cluster: OpenStack Glance 33 and us on one database.

The database is in the state both releases serve during a take-over (our
``expand`` and ``migrate`` done, ``contract`` not yet). Glance 33's own code
deletes images (its gateway, with ``delayed_delete = True``), and our
``glance-scrubber`` reclaims or restores them; and the other way round, Glance 33's
``glance-scrubber`` reclaims an image our code deleted.
"""

import json
import textwrap
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from oslo_utils import timeutils

from glance.conf import scrubber as scrubber_conf
from glance.db import migration
from glance.db.sqlalchemy import models
from tests.functional import scrub_helpers
from tests.glance33 import harness

DATA = b"deleted on a glance 33 node " * 50

# Runs in Glance 33's interpreter: an image with a file location, a property and a
# tag, deleted the way its API deletes (domain image.delete() + repo.remove()).
GLANCE_DELETE = textwrap.dedent("""
    import json, os, sys, uuid
    from oslo_config import cfg
    from glance import context, gateway
    import glance.db
    import glance_store
    from glance.common import config
    CONF = cfg.CONF
    config.parse_args(["--config-file", os.environ["GLANCE33_CONF"]])
    glance_store.register_opts(CONF)
    glance_store.create_stores(CONF)
    glance_store.verify_default_store()
    ctx = context.get_admin_context()
    db = glance.db.get_api()
    image_id, path = os.environ["IMAGE_ID"], os.environ["IMAGE_PATH"]
    db.image_create(ctx, {
        "id": image_id, "status": "active", "size": os.path.getsize(path),
        "disk_format": "raw", "container_format": "bare", "owner": "p1",
        "visibility": "shared",
        "properties": {"foo": "bar"},
        "locations": [{"url": "file://" + path, "metadata": {}, "status": "active"}]})
    db.image_tag_create(ctx, image_id, "t1")
    repo = gateway.Gateway().get_repo(ctx)
    image = repo.get(image_id)
    image.delete()
    repo.remove(image)
    print(json.dumps({"status": db.image_get(ctx, image_id, force_show_deleted=True)["status"]}))
""")

GLANCE_SHOW = textwrap.dedent("""
    import json, os
    from oslo_config import cfg
    from glance import context
    import glance.db
    from glance.common import config
    config.parse_args(["--config-file", os.environ["GLANCE33_CONF"]])
    image = glance.db.get_api().image_get(context.get_admin_context(), os.environ["IMAGE_ID"])
    print(json.dumps({"status": image["status"],
                      "locations": [loc["url"] for loc in image["locations"]],
                      "properties": {p["name"]: p["value"] for p in image["properties"]
                                     if not p["deleted"]}}))
""")


@pytest.fixture
def cluster(tmp_path):
    """A mixed-phase SQLite database, a file store and a config both releases read."""
    url = f"sqlite:///{tmp_path / 'glance.sqlite'}"
    engine = sa.create_engine(url)
    migration.expand(engine)
    migration.migrate(engine)
    datadir = tmp_path / "images"
    datadir.mkdir()
    config = scrub_helpers.write_ini(tmp_path / "glance-scrubber.conf", {
        "DEFAULT": {"delayed_delete": True, "state_path": tmp_path / "state"},
        "database": {"connection": url},
        "glance_store": {"stores": "file", "default_store": "file",
                         "filesystem_store_datadir": datadir}})
    yield engine, datadir, config
    engine.dispose()


def _glance(code: str, config: Path, **env: str) -> dict:
    return json.loads(harness.run_python(code, env={"GLANCE33_CONF": str(config), **env})
                      .strip().splitlines()[-1])


def _deleted_by_glance(datadir: Path, config: Path) -> tuple[str, Path]:
    image_id = str(uuid.uuid4())
    path = datadir / image_id
    path.write_bytes(DATA)
    assert _glance(GLANCE_DELETE, config, IMAGE_ID=image_id, IMAGE_PATH=str(path)) == {
        "status": "pending_delete"}
    assert path.exists()
    return image_id, path


def _rows(engine: sa.Engine, image_id: str) -> tuple[str, list[tuple[str, int]]]:
    with engine.connect() as connection:
        status = connection.execute(sa.text("SELECT status FROM images WHERE id = :id"),
                                    {"id": image_id}).scalar_one()
        locations = connection.execute(sa.text(
            "SELECT status, deleted FROM image_locations WHERE image_id = :id"),
            {"id": image_id}).all()
    return status, [tuple(row) for row in locations]


def test_our_scrubber_reclaims_an_image_glance_33_deleted(cluster):
    engine, datadir, config = cluster
    image_id, path = _deleted_by_glance(datadir, config)
    assert _rows(engine, image_id) == ("pending_delete", [("pending_delete", 1)])
    result = scrub_helpers.scrub(config)
    assert result.returncode == 0, result.stderr
    assert not path.exists()
    assert _rows(engine, image_id) == ("deleted", [("deleted", 1)])


def test_our_restore_of_an_image_glance_33_deleted_is_whole_for_glance(cluster):
    engine, datadir, config = cluster
    image_id, path = _deleted_by_glance(datadir, config)
    result = scrub_helpers.scrub(config, args=("--restore", image_id))
    assert result.returncode == 0, result.stderr
    # Glance 33 itself now serves it with its location and property (its own
    # --restore leaves both deleted).
    assert _glance(GLANCE_SHOW, config, IMAGE_ID=image_id) == {
        "status": "active", "locations": [f"file://{path}"], "properties": {"foo": "bar"}}
    assert scrub_helpers.scrub(config).returncode == 0 and path.exists()


def test_glance_33_scrubber_reclaims_an_image_we_deleted(cluster):
    engine, datadir, config = cluster
    image_id = str(uuid.uuid4())
    path = datadir / image_id
    path.write_bytes(DATA)
    now = timeutils.utcnow()
    with engine.begin() as connection:  # the rows our delete with delayed_delete leaves
        connection.execute(models.Image.__table__.insert().values(
            id=image_id, status="pending_delete", deleted=True, deleted_at=now,
            created_at=now, visibility="shared", min_disk=0, min_ram=0, protected=False,
            os_hidden=False, size=len(DATA)))
        connection.execute(models.ImageLocation.__table__.insert().values(
            image_id=image_id, value=f"file://{path}", metadata={}, status="pending_delete",
            deleted=True, deleted_at=now, created_at=now))
    harness.run_python("import sys\nfrom glance.cmd import scrubber\n"
                       f"sys.argv = ['glance-scrubber', '--config-file', '{config}']\n"
                       "scrubber.main()\n")
    assert not path.exists()
    assert _rows(engine, image_id) == ("deleted", [("deleted", 1)])


GLANCE_OPTIONS = textwrap.dedent("""
    import json
    from glance import scrubber
    opts = scrubber.scrubber_opts + scrubber.scrubber_cmd_opts + scrubber.scrubber_cmd_cli_opts
    print(json.dumps({o.name: [type(o).__name__, o.default, getattr(o.type, "min", None),
                               o.short, o.metavar, [d.name for d in o.deprecated_opts]]
                      for o in opts}))
""")


def test_options_are_glance_33s():
    ours = {opt.name: [type(opt).__name__, opt.default, getattr(opt.type, "min", None),
                       opt.short, opt.metavar, [d.name for d in opt.deprecated_opts]]
            for _group, opts in scrubber_conf.list_opts() for opt in opts}
    assert ours == json.loads(harness.run_python(GLANCE_OPTIONS).strip().splitlines()[-1])

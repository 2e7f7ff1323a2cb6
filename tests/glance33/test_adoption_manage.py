"""``glance-manage`` on databases created by OpenStack Glance 33's own glance-manage, on
SQLite, MariaDB and PostgreSQL: every db command through the adoption, Glance's own
glance-manage during it, the E-M-C rules on the adoption's steps, the contract's
refusals, and older or unknown Glance revisions refused without a change."""

import contextlib
import io
import json
import os
import traceback
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from oslo_config import cfg
from oslo_utils import timeutils

from glance.cmd import manage as manage_cmd
from glance.db import adoption, migration
from glance.db.sqlalchemy import engine as glance_engine
from glance.db.sqlalchemy import models
from tests import helpers
from tests.functional.db import schema
from tests.functional.db.conftest import BACKENDS, create_database
from tests.functional.db.manage_helpers import manage, write_config
from tests.glance33.harness import glance_manage


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def db_url(backend, tmp_path):
    yield from create_database(backend, tmp_path)


@pytest.fixture
def glance_db(db_url, tmp_path) -> tuple[Path, Path]:
    """A database synced by Glance 33's glance-manage; (Glance's config, ours)."""
    glance_config = tmp_path / "glance-33.conf"
    glance_config.write_text(f"[database]\nconnection = {db_url}\n")
    result = glance_manage(glance_config, "db", "sync")
    assert result.returncode == 0, result.stderr[-2000:]
    return glance_config, write_config(tmp_path, db_url)


@pytest.fixture
def engine(db_url):
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


def ours(config: Path, *args: str) -> tuple[int, str, str]:
    """Our glance-manage, in a forked child of this process: much quicker than a new
    interpreter, and the global CONF it parses is the child's, not the one the other
    in-process tests of this worker use."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run, report on the pipe, never return into pytest
        try:
            os.close(read_end)
            glance_engine.reset(close=False)
            cfg.CONF.clear()
            out, err = io.StringIO(), io.StringIO()
            try:
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    code = manage_cmd.main(["--config-file", str(config), *args])
            except BaseException:  # noqa: BLE001 - reported to the parent
                code, err = -1, io.StringIO(traceback.format_exc())
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(json.dumps([code, out.getvalue(), err.getvalue()]).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        report = pipe.read()
    os.waitpid(pid, 0)
    assert report, "glance-manage's child process died without a report"
    code, out, err = json.loads(report)
    assert code != -1, err
    return code, out, err


def _glance_version(engine: sa.Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(sa.text("SELECT version_num FROM alembic_version"))
                   .scalars())


def _tables(engine: sa.Engine) -> set[str]:
    with engine.connect() as connection:
        return set(sa.inspect(connection).get_table_names())


def _diff(engine: sa.Engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, models.Base.metadata)


def test_every_command_through_the_adoption(glance_db, engine, backend):
    glance_config, config = glance_db
    code, out, _ = ours(config, "db", "version")
    assert code == 0 and "2024_1_contract01" in out and "not adopted yet" in out
    code, out, _ = ours(config, "db", "check")
    assert code == 3 and "1. expand   glance_adopt:" in out
    code, out, _ = ours(config, "db", "sync", "--check", "--format", "json")
    assert code == 3 and '"glance_adoption": "glance"' in out
    for phase in ("migrate", "contract"):
        code, _, err = ours(config, "db", phase)
        assert code == 1 and err.startswith("ERROR: ") and "db expand" in err, err
    assert _glance_version(engine) == {"2024_1_contract01"}

    code, out, _ = ours(config, "db", "expand")
    assert code == 0 and "Adopted the OpenStack Glance" in out, out
    assert ours(config, "db", "check")[0] == 4
    assert _glance_version(engine) == {"2024_1_contract01"}
    assert adoption.ADOPTION_VERSION_TABLE in _tables(engine)
    # Glance's own tooling still finds its schema current (Glance's db check refuses
    # PostgreSQL whatever the schema: "Rolling upgrades are currently supported only for
    # MySQL and Sqlite").
    if backend != "postgresql":
        result = glance_manage(glance_config, "db", "check")
        assert result.returncode == 0, result.stdout + result.stderr
    assert "2024_1_contract01" in glance_manage(glance_config, "db", "version").stdout

    code, out, _ = ours(config, "db", "migrate")
    assert code == 0 and "no OpenStack Glance node serves" in out
    code, out, _ = ours(config, "db", "check")
    assert code == 5 and "once no OpenStack Glance node serves this database" in out
    code, out, _ = ours(config, "db", "sync")
    assert code == 0 and "Contract was not run" in out
    code, out, _ = ours(config, "db", "version")
    assert "0009_expand_member_scope" in out and "until `glance-manage db contract`" in out

    code, out, err = ours(config, "db", "contract")
    assert code == 0, err
    assert "no longer an OpenStack Glance database" in out
    assert ours(config, "db", "check")[0] == 0
    assert ours(config, "db", "version")[1].strip() == \
        "0008_contract_list_indexes, 0009_expand_member_scope"
    assert _glance_version(engine) == {"0008_contract_list_indexes", "0009_expand_member_scope"}
    assert adoption.ADOPTION_VERSION_TABLE not in _tables(engine)
    assert _diff(engine) == []
    # The real console command agrees (exit code, no traceback).
    assert manage(config, "db", "sync", "--check").returncode == 0


def test_sync_adopts_and_stops_before_contract(glance_db):
    _, config = glance_db
    code, out, err = ours(config, "db", "sync")
    assert code == 0, err
    assert "Adopted the OpenStack Glance" in out and "Contract was not run" in out
    code, out, _ = ours(config, "db", "sync")
    assert code == 0 and "Contract was not run" in out
    assert ours(config, "db", "check")[0] == 5


def test_adoption_steps_follow_the_expand_migrate_contract_rules(glance_db, engine):
    """Adopt adds only; migrate changes no schema; contract removes, plus the documented
    tightenings only possible once Glance is gone."""
    glance_engine.reset()
    before = schema.snapshot(engine)
    assert migration.expand(engine)[0] == adoption.ADOPT_STEP
    expanded = schema.snapshot(engine)
    assert schema.additions_only(before, expanded) == []
    migration.migrate(engine)
    migrated = schema.snapshot(engine)
    assert migrated == expanded
    migration.contract(engine)
    contracted = schema.snapshot(engine)
    uniques = ("uq_image_properties_image_id_name", "uq_image_tags_image_id_value",
               "uq_image_members_image_id_member")
    tightened = {f"added {kind} {name}" for kind in ("constraint", "index")  # MySQL: index
                 for name in uniques}
    tightened |= {f"changed type of images.{name}"
                  for name in ("visibility", "size", "virtual_size")}
    assert set(schema.removals_only(migrated, contracted)) <= tightened
    assert _diff(engine) == []


def _live_image(connection, image_id: str) -> None:
    connection.execute(sa.text(
        "INSERT INTO images (id, status, visibility, min_disk, min_ram, protected, os_hidden,"
        " created_at, deleted) VALUES (:id, 'active', 'shared', 0, 0, :f, :f, :now, :f)"),
        {"id": image_id, "f": False, "now": timeutils.utcnow()})


def _tag(connection, image_id: str, value: str, deleted_at=None) -> None:
    connection.execute(sa.text(
        "INSERT INTO image_tags (image_id, value, created_at, deleted, deleted_at) "
        "VALUES (:image, :value, :now, :deleted, :deleted_at)"),
        {"image": image_id, "value": value, "now": timeutils.utcnow(),
         "deleted": deleted_at is not None, "deleted_at": deleted_at})


def test_contract_refused_while_glance_writes(glance_db, engine):
    """A tag Glance soft-deleted minutes ago: Glance still runs; --force overrides. The
    soft-deleted duplicate and an exact live copy are removed by the contract."""
    _, config = glance_db
    assert ours(config, "db", "sync")[0] == 0
    image_id = "6d5f0c8e-3b1a-4c2d-9e8f-7a6b5c4d3e2f"
    with engine.begin() as connection:
        _live_image(connection, image_id)
        _tag(connection, image_id, "t1", deleted_at=timeutils.utcnow())
        _tag(connection, image_id, "t1")
        _tag(connection, image_id, "t2")
        _tag(connection, image_id, "t2")
    code, _, err = ours(config, "db", "contract")
    assert code == 1
    assert err.startswith("ERROR: Database contraction did not run. OpenStack Glance still "
                          "wrote to this database in the last 10 minutes (removed a tag at ")
    assert "--force" in err and len(err.strip().splitlines()) == 1
    assert ours(config, "db", "check")[0] == 5  # nothing changed
    code, _, err = ours(config, "db", "contract", "--force")
    assert code == 0, err
    with engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT value, deleted FROM image_tags WHERE image_id = :id ORDER BY value"),
            {"id": image_id}).all()
    assert [(value, bool(deleted)) for value, deleted in rows] == [("t1", False),
                                                                    ("t2", False)]


@pytest.mark.parametrize("backend", [pytest.param("mysql", marks=pytest.mark.mysql)])
def test_contract_refused_for_tags_the_collation_merges(glance_db, engine):
    """MariaDB's utf8 collations compare case-insensitively: tags Foo and foo on one image
    could not both stay under the unique key, so contract names them and stops."""
    _, config = glance_db
    assert ours(config, "db", "sync")[0] == 0
    image_id = "0c9b8a7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d"
    with engine.begin() as connection:
        _live_image(connection, image_id)
        _tag(connection, image_id, "Foo")
        _tag(connection, image_id, "foo")
    code, _, err = ours(config, "db", "contract", "--force")
    assert code == 1
    assert "image_tags rows" in err and "'Foo', 'foo'" in err and image_id in err
    assert ours(config, "db", "check")[0] == 5


@pytest.mark.parametrize("revision", ["2024_1_expand01", "2023_1_contract01"])
def test_older_glance_revisions_are_refused(glance_db, engine, revision):
    _, config = glance_db
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = :v"),
                           {"v": revision})
    before = _tables(engine)
    for command in (["db", "sync"], ["db", "check"], ["db", "expand"], ["db", "contract"],
                    ["db", "version"]):
        code, out, err = ours(config, *command)
        assert code == 1, (command, out, err)
        assert err.startswith(f"ERROR: This is an OpenStack Glance database at revision "
                              f"{revision}, older than 2024_1_contract01. Upgrade it with "
                              "the glance-manage of OpenStack Glance"), err
        assert len(err.strip().splitlines()) == 1
    assert _tables(engine) == before and _glance_version(engine) == {revision}
    result = manage(config, "db", "sync")  # the console command: same line, no traceback
    assert result.returncode == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize("backend", ["sqlite"])
def test_unknown_revisions_and_legacy_control_are_refused(glance_db, engine):
    _, config = glance_db
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '2027_1_x01'"))
    for command in (["db", "sync"], ["db", "check", "--format", "json"]):
        code, out, err = ours(config, *command)
        assert code == 1
        assert err.startswith("ERROR: The database is at alembic revision(s) 2027_1_x01, "
                              "which neither this release nor OpenStack Glance"), err
    assert '"status": "error"' in out
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM alembic_version"))
        connection.execute(sa.text("CREATE TABLE migrate_version (version INTEGER)"))
    code, _, err = ours(config, "db", "sync")
    assert code == 1 and "old sqlalchemy-migrate control" in err


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def test_glance_api_refuses_a_glance_database_not_adopted(glance_db, tmp_path, db_url):
    server = helpers.Server(helpers.write_config(tmp_path / "api", {
        "database": {"connection": db_url}}))
    with pytest.raises(RuntimeError, match="glance-manage has not adopted yet: run "
                                           "`glance-manage db sync` first"):
        server.start(timeout=60)
    _, config = glance_db
    assert ours(config, "db", "sync")[0] == 0
    server.start(timeout=60)
    server.stop()

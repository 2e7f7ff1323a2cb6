"""Every migration on SQLite, MariaDB and PostgreSQL: the walk, the E-M-C rules,
the triggers of the window, the data migration, and models == migrated schema."""

import json
import threading
import time

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from glance.db import migration
from glance.db.sqlalchemy import models
from tests.functional.db import schema

CHANGE_EXPAND = "0004_expand_location_metadata"
BEFORE_CHANGE = "0003_expand_purged_image_ids"


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(migration.alembic_config())


def _upgrade_to(engine: sa.Engine, revision: str) -> None:
    # As glance.db.migration does: alembic owns the transactions (revision 0008 builds
    # PostgreSQL indexes CONCURRENTLY, outside of one).
    with engine.connect() as connection:
        from alembic import command
        command.upgrade(migration.alembic_config(connection), revision)


def _insert_image(connection, image_id: str) -> None:
    connection.execute(sa.text(
        "INSERT INTO images (id, status, visibility, min_disk, min_ram, protected, os_hidden,"
        " created_at, deleted) VALUES (:id, 'active', 'public', 0, 0, :f, :f, :now, :f)"),
        {"id": image_id, "f": False, "now": "2026-01-01 00:00:00"})


def _locations_table() -> sa.TableClause:
    return sa.table("image_locations", sa.column("id", sa.Integer),
                    sa.column("image_id", sa.String), sa.column("value", sa.Text),
                    sa.column("status", sa.String), sa.column("created_at", sa.DateTime),
                    sa.column("deleted", sa.Boolean), sa.column("meta_data", sa.Text),
                    sa.column("metadata", models.LOCATION_JSON))


def _insert_location(connection, image_id: str, url: str, **columns) -> int:
    """Insert like either release would: ``meta_data=<text>`` (old) or ``metadata=<dict>``."""
    connection.execute(sa.insert(_locations_table()).values(
        image_id=image_id, value=url, status="active", deleted=False,
        created_at=sa.func.now(), **columns))
    return connection.execute(sa.text("SELECT max(id) FROM image_locations")).scalar_one()


def _quote(engine: sa.Engine, name: str) -> str:
    return engine.dialect.identifier_preparer.quote_identifier(name)


def _location(engine: sa.Engine, location_id: int) -> tuple:
    meta = _quote(engine, "metadata")
    with engine.connect() as connection:
        meta_data, metadata = connection.execute(sa.text(
            f"SELECT meta_data, {meta} FROM image_locations WHERE id = :id"),
            {"id": location_id}).one()
    if isinstance(metadata, str):  # SQLite/MariaDB hand JSON back as text here
        metadata = json.loads(metadata)
    return (json.loads(meta_data) if meta_data is not None else None), metadata


# -- layout ------------------------------------------------------------------------------

def test_layout_three_linear_branches():
    script = _script()
    heads = {script.get_revision(h) for h in script.get_heads()}
    labels = {label for rev in heads for label in rev.branch_labels}
    assert {"expand", "migrate", "contract"} <= labels
    assert len(heads) == 3, "one head per phase: new revisions go on a branch's head"
    bases = script.get_bases()
    assert bases == ["0001_initial"]
    for rev in script.walk_revisions():
        assert not isinstance(rev.down_revision, tuple), f"{rev.revision} merges branches"


def test_migrate_and_contract_revisions_depend_on_earlier_phases():
    script = _script()
    phase_of = {s.revision: s.phase for s in _all_steps()}
    for rev in script.walk_revisions():
        phase = phase_of[rev.revision]
        declared = rev.dependencies or ()
        deps = [phase_of[d] for d in ((declared,) if isinstance(declared, str) else declared)]
        if phase == "migrate":
            assert deps and set(deps) <= {"expand"}, rev.revision
            assert hasattr(rev.module, "DATA_MIGRATION"), rev.revision
        if phase == "contract":
            assert deps and set(deps) <= {"expand", "migrate"}, rev.revision


def _all_steps():
    engine = sa.create_engine("sqlite://")
    return migration.pending_steps(engine)


def test_phase_order_of_steps_on_empty_database():
    phases = [s.phase for s in _all_steps()]
    assert phases == sorted(phases, key=("expand", "migrate", "contract").index)
    assert _all_steps()[0].revision == "0001_initial"


# -- the walk and the rules ----------------------------------------------------------------

def test_walk_each_revision_with_add_only_expand_and_remove_only_contract(db_engine):
    steps = migration.pending_steps(db_engine)
    assert migration.check(db_engine)[0] == migration.CheckResult.EXPAND_PENDING
    for step in steps:
        before = schema.snapshot(db_engine)
        _upgrade_to(db_engine, step.revision)
        after = schema.snapshot(db_engine)
        if step.phase == "expand":
            assert schema.additions_only(before, after) == [], step.revision
        elif step.phase == "contract":
            assert schema.removals_only(before, after) == [], step.revision
        else:
            assert before == after, f"{step.revision}: a data migration changed the schema"
    assert migration.check(db_engine) == (migration.CheckResult.UP_TO_DATE, [])


def test_check_codes_through_the_phases(db_engine):
    assert migration.check(db_engine)[0] == 3
    assert migration.expand(db_engine)
    assert migration.check(db_engine)[0] == 4
    assert migration.expand(db_engine) == []
    assert migration.migrate(db_engine) == ["0004_migrate_location_metadata"]
    assert migration.check(db_engine)[0] == 5
    assert migration.contract(db_engine) == ["0004_contract_location_metadata",
                                            "0007_contract_glance_schema",
                                            "0008_contract_list_indexes"]
    assert migration.check(db_engine)[0] == 0
    assert migration.db_sync(engine=db_engine) == []
    assert migration.is_current(db_engine)


def test_out_of_order_phases_are_refused(db_engine):
    with pytest.raises(migration.MigrationOrderError, match="db expand"):
        migration.migrate(db_engine)
    with pytest.raises(migration.MigrationOrderError, match="db expand"):
        migration.contract(db_engine)
    migration.expand(db_engine)
    with pytest.raises(migration.MigrationOrderError, match="db migrate"):
        migration.contract(db_engine)
    assert migration.check(db_engine)[0] == 4  # nothing changed by the refusals


def test_models_match_migrated_schema(db_engine):
    migration.db_sync(engine=db_engine)
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, models.Base.metadata)
    assert diff == []


def test_sync_from_previous_release_schema(db_engine):
    _upgrade_to(db_engine, BEFORE_CHANGE)
    phases = [s.phase for s in migration.pending_steps(db_engine)]
    assert sorted(set(phases)) == ["contract", "expand", "migrate"]
    assert phases == sorted(phases, key=("expand", "migrate", "contract").index)
    assert migration.check(db_engine)[0] == 3
    migration.db_sync(engine=db_engine)
    assert migration.is_current(db_engine)


# -- change 0004: triggers and data migration ---------------------------------------------

def test_data_migration_moves_existing_rows(db_engine):
    _upgrade_to(db_engine, BEFORE_CHANGE)
    with db_engine.begin() as connection:
        _insert_image(connection, "11111111-1111-1111-1111-111111111111")
        ids = [_insert_location(connection, "11111111-1111-1111-1111-111111111111",
                                f"file:///{n}", meta_data=json.dumps({"store": f"s{n}"}))
               for n in range(7)]
        plain = _insert_location(connection, "11111111-1111-1111-1111-111111111111",
                                 "file:///plain")
        broken = _insert_location(connection, "11111111-1111-1111-1111-111111111111",
                                  "file:///broken", meta_data="{not json")
    migration.expand(db_engine)
    assert migration.data_rows_pending(db_engine) == 8
    assert migration.migrate(db_engine, batch_size=3)
    assert migration.data_rows_pending(db_engine) == 0
    for n, location_id in enumerate(ids):
        assert _location(db_engine, location_id)[1] == {"store": f"s{n}"}
    assert _location(db_engine, plain)[1] is None
    assert _location(db_engine, broken)[1] == {"_unparsed": "{not json"}
    migration.contract(db_engine)
    meta = _quote(db_engine, "metadata")
    with db_engine.connect() as connection:
        rows = dict(connection.execute(sa.text(
            f"SELECT id, {meta} FROM image_locations")).all())
    value = rows[ids[3]]
    assert (json.loads(value) if isinstance(value, str) else value) == {"store": "s3"}


def test_triggers_keep_both_columns_in_step_during_the_window(db_engine):
    _upgrade_to(db_engine, CHANGE_EXPAND)
    image_id = "22222222-2222-2222-2222-222222222222"
    with db_engine.begin() as connection:
        _insert_image(connection, image_id)
        old = _insert_location(connection, image_id, "file:///old",
                               meta_data=json.dumps({"by": "old"}))
        new = _insert_location(connection, image_id, "file:///new",
                               metadata={"by": "new"})
    assert _location(db_engine, old) == ({"by": "old"}, {"by": "old"})
    assert _location(db_engine, new) == ({"by": "new"}, {"by": "new"})
    table = _locations_table()
    with db_engine.begin() as connection:
        connection.execute(sa.text("UPDATE image_locations SET meta_data = :v WHERE id = :id"),
                           {"v": json.dumps({"by": "old", "n": 2}), "id": new})
    assert _location(db_engine, new) == ({"by": "old", "n": 2},) * 2
    with db_engine.begin() as connection:
        connection.execute(sa.update(table).where(table.c.id == old)
                           .values(metadata={"by": "new", "n": 3}))
    assert _location(db_engine, old) == ({"by": "new", "n": 3},) * 2
    with db_engine.begin() as connection:  # an update of another column leaves both alone
        connection.execute(sa.text("UPDATE image_locations SET status = 'pending_delete'"
                                   " WHERE id = :id"), {"id": old})
    assert _location(db_engine, old) == ({"by": "new", "n": 3},) * 2
    migration.expand(db_engine)  # later expand revisions, if any
    migration.migrate(db_engine)
    migration.contract(db_engine)
    assert schema.snapshot(db_engine).triggers == set()


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgresql)])
def test_contract_runs_again_after_losing_a_deadlock_to_a_request(db_engine):
    """A request that holds a later table and then reads an earlier one deadlocks with
    contract's table locks; PostgreSQL aborts contract (it waited first), which rolls
    back whole and runs again once the request is done."""
    migration.expand(db_engine)
    migration.migrate(db_engine)
    with db_engine.connect() as connection:
        present = set(sa.inspect(connection).get_table_names())
        deadlocks_before = connection.exec_driver_sql(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
        ).scalar()
    tables = [t.name for t in models.Base.metadata.sorted_tables if t.name in present]
    first, last = tables[0], tables[-1]
    outcome: dict = {}

    def contract() -> None:
        try:
            outcome["steps"] = migration.contract(db_engine)
        except Exception as err:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = err

    with db_engine.connect() as request:
        request.exec_driver_sql("SET deadlock_timeout = '10s'")  # contract detects it
        request.exec_driver_sql(f"LOCK TABLE {last} IN ACCESS SHARE MODE")
        runner = threading.Thread(target=contract)
        runner.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # until contract waits for our lock
            with db_engine.connect() as probe:
                # pg_locks is the whole server's: only this database's waits count
                # (other tests wait for locks of their own databases meanwhile).
                if probe.exec_driver_sql(
                        "SELECT count(*) FROM pg_locks WHERE NOT granted AND database = "
                        "(SELECT oid FROM pg_database WHERE datname = current_database())"
                ).scalar():
                    break
            time.sleep(0.05)
        request.exec_driver_sql(f"SELECT count(*) FROM {first}")  # waits for contract
        request.rollback()
    runner.join(60)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["steps"], outcome
    assert migration.check(db_engine) == (migration.CheckResult.UP_TO_DATE, [])
    with db_engine.connect() as connection:
        deadlocks = connection.exec_driver_sql(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
        ).scalar()
    assert deadlocks > deadlocks_before  # the deadlock did happen, and contract lost it

"""Schema migrations in three phases, through alembic's command API.

The alembic tree has one root (``0001_initial``) and three branches:

* ``expand``: additive changes (tables, nullable columns, indexes, triggers);
  safe while code of the previous release still runs;
* ``migrate``: data migrations; each revision ``depends_on`` the expand
  revision it needs and names a module of ``glance.db.sqlalchemy.data_migrations``;
* ``contract``: removals; each revision ``depends_on`` the migrate revision
  (or, with no data to move, the expand revision) it follows.

A revision whose branch has no label (the root) counts as expand. ``db sync``
runs expand, migrate and contract in that order.

An OpenStack Glance 2024.1-33 database (alembic head ``2024_1_contract01``) is
adopted through the same phases (glance/db/adoption.py): expand first runs the
adoption step, our revisions are recorded in ``alembic_version_adoption`` until
contract, ``db sync`` stops before contract (Glance nodes may still serve the
database), and ``db contract`` ends with moving our revisions into
``alembic_version``. Older Glance databases and unknown revisions are refused.
"""

import enum
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory

from glance.db import adoption
from glance.db import errors as db_errors
from glance.db.sqlalchemy import data_migrations, models
from glance.db.sqlalchemy import engine as db_engine

MIGRATIONS_DIR = os.path.join(os.path.dirname(__file__), "sqlalchemy", "migrations")
EXPAND, MIGRATE, CONTRACT = "expand", "migrate", "contract"
PHASES = (EXPAND, MIGRATE, CONTRACT)
DATA_BATCH_SIZE = 500


class MigrationOrderError(Exception):
    """A phase was asked for before the phases it needs have run."""


class ContractRefused(MigrationOrderError):
    """The adoption's contract must not run yet (Glance still writing, duplicates)."""


UnsupportedDatabase = adoption.UnsupportedDatabase


class CheckResult(enum.IntEnum):
    """Exit codes of ``glance-manage db check`` (the ones OpenStack Glance uses)."""

    UP_TO_DATE = 0
    ERROR = 1
    EXPAND_PENDING = 3
    MIGRATE_PENDING = 4
    CONTRACT_PENDING = 5


@dataclass(frozen=True)
class Step:
    """One pending revision, in the order it will run."""

    phase: str
    revision: str
    description: str


def alembic_config(connection=None, version_table: str = adoption.VERSION_TABLE) -> Config:
    """An alembic Config pointing at our migrations, bound to ``connection``, recording
    revisions in ``version_table``."""
    config = Config(os.path.join(MIGRATIONS_DIR, "alembic.ini"))
    config.set_main_option("script_location", MIGRATIONS_DIR)
    config.attributes["connection"] = connection
    config.attributes["version_table"] = version_table
    return config


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def _engine(engine: sqlalchemy.engine.Engine | None) -> sqlalchemy.engine.Engine:
    return engine if engine is not None else db_engine.get_engine()


def script_heads() -> tuple[str, ...]:
    """Head revisions of the migration scripts."""
    return tuple(_script().get_heads())


def detect(engine: sqlalchemy.engine.Engine | None = None) -> adoption.Detected:
    """Whose database this is (ours, Glance's, adopting); UnsupportedDatabase if neither."""
    known = {revision.revision for revision in _script().walk_revisions()}
    with _engine(engine).connect() as connection:
        return adoption.detect(connection, known)


def _heads(engine: sqlalchemy.engine.Engine, detected: adoption.Detected) -> tuple[str, ...]:
    if detected.kind is adoption.Kind.GLANCE:
        return ()
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": detected.version_table})
        return tuple(context.get_current_heads())


def current_heads(engine: sqlalchemy.engine.Engine | None = None) -> tuple[str, ...]:
    """Our revisions the database is at (empty when never migrated, or a Glance
    database not adopted yet)."""
    engine = _engine(engine)
    return _heads(engine, detect(engine))


def _branch(script: ScriptDirectory, phase: str) -> list[Script]:
    """The revisions of one branch's lineage, root first (down_revision links only)."""
    lineage: list[Script] = []
    revision = script.get_revision(f"{phase}@head")
    while revision is not None:
        lineage.append(revision)
        down = revision.down_revision
        if isinstance(down, tuple):
            raise RuntimeError(f"Migration {revision.revision} merges branches; "
                               "keep each branch linear.")
        revision = script.get_revision(down) if down else None
    return lineage[::-1]


def _applied(script: ScriptDirectory, heads: Iterable[str]) -> set[str]:
    """Every revision implied by the database's heads (ancestors and dependencies)."""
    seen: set[str] = set()
    todo = list(heads)
    while todo:
        revision = script.get_revision(todo.pop())
        if revision is None or revision.revision in seen:
            continue
        seen.add(revision.revision)
        todo.extend(revision._normalized_down_revisions)  # down_revision + depends_on
    return seen


def _description(revision: Script) -> str:
    """The first paragraph of the revision's docstring, on one line."""
    doc = (revision.module.__doc__ or "").strip()
    return " ".join(doc.split("\n\n")[0].split()) if doc else revision.revision


def pending_steps(engine: sqlalchemy.engine.Engine | None = None) -> list[Step]:
    """Revisions not yet applied, phase by phase, each phase in execution order (with
    the adoption's own first and last steps on a Glance database)."""
    engine = _engine(engine)
    detected = detect(engine)
    script = _script()
    steps: list[Step] = []
    if detected.kind is adoption.Kind.GLANCE:
        steps.append(Step(EXPAND, adoption.ADOPT_STEP, adoption.ADOPT_DESCRIPTION))
        applied = _applied(script, [adoption.PIN])
    else:
        applied = _applied(script, _heads(engine, detected))
    listed: set[str] = set()
    for phase in PHASES:
        for revision in _branch(script, phase):
            if revision.revision in listed:  # the shared root counts as expand
                continue
            listed.add(revision.revision)
            if revision.revision not in applied:
                steps.append(Step(phase, revision.revision, _description(revision)))
    if detected.adopting:
        steps.append(Step(CONTRACT, adoption.FINISH_STEP, adoption.FINISH_DESCRIPTION))
    return steps


def check(engine: sqlalchemy.engine.Engine | None = None) -> tuple[CheckResult, list[Step]]:
    """What ``db check`` answers: the first pending phase's code, and every pending step."""
    steps = pending_steps(engine)
    phases = {step.phase for step in steps}
    if EXPAND in phases:
        return CheckResult.EXPAND_PENDING, steps
    if MIGRATE in phases:
        return CheckResult.MIGRATE_PENDING, steps
    if CONTRACT in phases:
        return CheckResult.CONTRACT_PENDING, steps
    return CheckResult.UP_TO_DATE, steps


def _lock_tables(connection: sqlalchemy.Connection) -> None:
    """On PostgreSQL, take every table's ACCESS EXCLUSIVE lock up front, parents first.

    PostgreSQL runs a phase in one transaction; its DDL would otherwise lock table
    after table, and a request reading an image (images, then its child tables) could
    hold one of them while waiting for another: a deadlock, whose victim is the
    request. With the locks taken in the order requests take them, requests wait
    for the few seconds the phase lasts instead.
    """
    if connection.dialect.name != "postgresql":
        return
    present = set(sqlalchemy.inspect(connection).get_table_names())
    tables = [t.name for t in models.Base.metadata.sorted_tables if t.name in present]
    if tables:
        connection.exec_driver_sql(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE")


# A locked phase on PostgreSQL that loses a deadlock to a request is run again: its
# transaction (DDL included) was rolled back whole. Tries, and the pause before each
# new one.
LOCKED_PHASE_TRIES = 5
LOCKED_PHASE_PAUSE = 0.5
_PG_DEADLOCK = "40P01"


def _lost_a_deadlock(err: BaseException) -> bool:
    orig = db_errors.driver_error(err)
    return (getattr(orig, "pgcode", None) or getattr(orig, "sqlstate", None)) == _PG_DEADLOCK


def _upgrade(engine: sqlalchemy.engine.Engine, revision: str,
             version_table: str | None = None, lock: bool = False) -> None:
    """Upgrade to ``revision``; ``lock``: in one transaction with every table locked
    first, and on PostgreSQL again when a request's transaction deadlocked with it
    (a request may lock tables in another order than ``_lock_tables`` does)."""
    version_table = version_table or detect(engine).version_table
    tries = LOCKED_PHASE_TRIES if lock and engine.dialect.name == "postgresql" else 1
    for attempt in range(1, tries + 1):
        try:
            # Unlocked, alembic owns the transactions (env.py's begin_transaction), so
            # that a revision can step out of them (an autocommit block: PostgreSQL's
            # CREATE INDEX CONCURRENTLY, revision 0008); locked, one transaction of ours.
            with (engine.begin() if lock else engine.connect()) as connection, \
                    adoption.quiet_check_constraints():
                if lock:
                    _lock_tables(connection)
                command.upgrade(alembic_config(connection, version_table), revision)
            return
        except Exception as err:
            if attempt == tries or not _lost_a_deadlock(err):
                raise
            time.sleep(LOCKED_PHASE_PAUSE * attempt)


def _pending(engine: sqlalchemy.engine.Engine, phase: str) -> list[Step]:
    return [step for step in pending_steps(engine) if step.phase == phase]


def _adopt(engine: sqlalchemy.engine.Engine) -> list[str]:
    """The adoption's expand step: Glance's schema -> ours at PIN, then stamp PIN."""
    script = _script()
    modules = {revision.revision: revision.module for revision in script.walk_revisions()}
    with engine.begin() as connection, adoption.quiet_check_constraints():
        _lock_tables(connection)
        done = adoption.adopt(connection, modules)
        context = MigrationContext.configure(
            connection, opts={"version_table": adoption.ADOPTION_VERSION_TABLE})
        context.stamp(script, adoption.PIN)
    return done


def expand(engine: sqlalchemy.engine.Engine | None = None) -> list[str]:
    """Apply the pending expand steps; returns their ids (empty: nothing to do)."""
    engine = _engine(engine)
    steps = _pending(engine, EXPAND)
    if steps and steps[0].revision == adoption.ADOPT_STEP:
        _adopt(engine)
    if any(step.revision != adoption.ADOPT_STEP for step in steps):
        _upgrade(engine, f"{EXPAND}@head")
    return [step.revision for step in steps]


def migrate(engine: sqlalchemy.engine.Engine | None = None,
            batch_size: int = DATA_BATCH_SIZE) -> list[str]:
    """Run the pending data migrations, each in committed batches, then stamp them."""
    engine = _engine(engine)
    if _pending(engine, EXPAND):
        raise MigrationOrderError(
            "Data migration did not run: the database is not expanded yet. "
            "Run `glance-manage db expand` first.")
    steps = _pending(engine, MIGRATE)
    script = _script()
    for step in steps:
        module = getattr(script.get_revision(step.revision).module, "DATA_MIGRATION", None)
        if module is not None:
            moved = batch_size
            while moved:
                with engine.begin() as connection:
                    moved = module.migrate_batch(connection, batch_size)
        _upgrade(engine, step.revision)
    return [step.revision for step in steps]


def data_rows_pending(engine: sqlalchemy.engine.Engine | None = None) -> int:
    """Rows the pending data migrations still have to move (informational)."""
    engine = _engine(engine)
    script = _script()
    total = 0
    with engine.connect() as connection:
        for step in _pending(engine, MIGRATE):
            module = getattr(script.get_revision(step.revision).module, "DATA_MIGRATION", None)
            if module is not None:
                total += module.pending(connection)
    return total


def contract(engine: sqlalchemy.engine.Engine | None = None, force: bool = False
             ) -> list[str]:
    """Apply the pending contract revisions, refusing while expand or migrate is pending.

    On an adopted Glance database, also refused while Glance seems to be writing
    (unless ``force``) or live rows would break a unique constraint; the last step
    makes the database one of ours (see adoption.finish).
    """
    engine = _engine(engine)
    detected = detect(engine)
    steps = pending_steps(engine)
    phases = {step.phase for step in steps}
    if EXPAND in phases:
        raise MigrationOrderError(
            "Database contraction did not run: the database is not expanded yet. "
            "Run `glance-manage db expand`, then `glance-manage db migrate` first.")
    if MIGRATE in phases:
        raise MigrationOrderError(
            "Database contraction did not run: data migrations are pending. "
            "Run `glance-manage db migrate` first, and contract only once every "
            "glance-api node runs the new release.")
    if detected.adopting:
        with engine.connect() as connection:
            blockers = adoption.contract_blockers(connection, force)
        if blockers:
            raise ContractRefused("Database contraction did not run. " + " ".join(blockers))
    contract_steps = [step for step in steps if step.phase == CONTRACT]
    if any(step.revision != adoption.FINISH_STEP for step in contract_steps):
        _upgrade(engine, f"{CONTRACT}@head", detected.version_table, lock=True)
    if detected.adopting:
        with engine.begin() as connection:
            adoption.finish(connection)
    if detected.adopting or detected.leftover_side_table:
        with engine.begin() as connection:
            adoption.drop_side_table(connection)
    return [step.revision for step in contract_steps]


def adoption_pending(engine: sqlalchemy.engine.Engine | None = None) -> bool:
    """Whether this is a Glance database whose adoption's contract has not run."""
    return detect(engine).adopting


def db_sync(revision: str = "heads",
            engine: sqlalchemy.engine.Engine | None = None) -> list[str]:
    """Run expand, migrate and contract (``revision`` other than heads: plain upgrade).

    On a Glance database only expand and migrate: Glance nodes may still serve it,
    and contract would break them (``db contract`` is the explicit last step).
    """
    engine = _engine(engine)
    detected = detect(engine)
    if revision != "heads":
        if detected.adopting:
            raise MigrationOrderError(
                "An OpenStack Glance database is adopted through `glance-manage db "
                "sync` (or expand, migrate, contract), not by revision.")
        _upgrade(engine, revision)
        return [revision]
    applied = expand(engine) + migrate(engine)
    if detected.adopting:
        return applied
    return applied + contract(engine)


def is_current(engine: sqlalchemy.engine.Engine | None = None) -> bool:
    """Whether every migration has been applied."""
    return not pending_steps(engine)


__all__ = ["CheckResult", "ContractRefused", "MigrationOrderError", "Step",
           "UnsupportedDatabase", "adoption_pending", "alembic_config", "check", "contract",
           "current_heads", "data_migrations", "data_rows_pending", "db_sync", "detect",
           "expand", "is_current", "migrate", "pending_steps", "script_heads"]

"""Taking over an OpenStack Glance database (Glance 2024.1 to 33, alembic head
``2024_1_contract01``) through our expand / migrate / contract phases.

How the alembic version tables are used:

* Glance's ``alembic_version`` keeps Glance's ``2024_1_contract01`` until the
  adoption's contract, so that Glance's own ``glance-manage db version`` and
  ``db check`` keep answering (and agree that *Glance's* schema is current)
  while Glance nodes still serve the database.
* Our revisions live in ``alembic_version_adoption`` meanwhile. The adoption's
  expand step (:func:`adopt`) brings Glance's schema to the shape of our
  revision :data:`PIN` — additions only, each harmless to Glance — and stamps
  that revision there; later revisions then run as on any of our databases.
* The last step of ``db contract`` (:func:`finish`) writes our heads into
  ``alembic_version``, removes Glance's revision and drops the side table: from
  then on the database is one of ours, and Glance's glance-manage no longer
  knows it.

Nothing here imports the alembic scripts' runner (glance.db.migration drives
this module), so that the migration revisions may import it too.
"""

import contextlib
import enum
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import ModuleType

import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from oslo_utils import timeutils

VERSION_TABLE = "alembic_version"
ADOPTION_VERSION_TABLE = "alembic_version_adoption"
GLANCE_HEAD = "2024_1_contract01"
GLANCE_RELEASES = "OpenStack Glance 2024.1 (28.0.0) to 33"
# Our revision whose schema adopt() produces from Glance's; later ones run normally.
PIN = "0006_expand_cache_tables"
# Names of the two steps that are not alembic revisions (listed by `db check`).
ADOPT_STEP = "glance_adopt"
FINISH_STEP = "glance_adopt_finish"
ADOPT_DESCRIPTION = (f"Adopt the {GLANCE_RELEASES} schema: add what this release needs "
                     f"(up to {PIN}); Glance nodes keep working")
FINISH_DESCRIPTION = ("Finish the adoption: our revisions move into alembic_version, "
                      "Glance's 2024_1_contract01 goes (Glance can no longer use the "
                      "database)")

# Every revision id OpenStack Glance's alembic scripts ever had before 2024_1_contract01.
OLDER_GLANCE_REVISIONS = frozenset({
    "liberty", "mitaka01", "mitaka02", "ocata_expand01", "ocata_contract01",
    "pike_expand01", "pike_contract01", "queens_expand01", "queens_contract01",
    "rocky_expand01", "rocky_expand02", "rocky_contract01", "rocky_contract02",
    "train_expand01", "train_contract01", "ussuri_expand01", "ussuri_contract01",
    "wallaby_expand01", "wallaby_contract01", "xena_expand01", "xena_contract01",
    "yoga_expand01", "yoga_contract01", "zed_expand01", "zed_contract01",
    "2023_1_expand01", "2023_1_contract01", "2024_1_expand01",
})
# Tables (and columns) a Glance 2024.1+ database has; checked before adopting.
GLANCE_TABLES = {
    "images": {"id", "status", "visibility", "os_hidden", "os_hash_value"},
    "image_properties": {"image_id", "name", "value"},
    "image_locations": {"image_id", "value", "meta_data", "status"},
    "image_members": {"image_id", "member", "status"},
    "image_tags": {"image_id", "value"},
    "tasks": {"id", "image_id", "request_id", "user_id"},
    "task_info": {"task_id", "input"},
    "metadef_namespaces": {"namespace"},
    "metadef_objects": {"name"}, "metadef_properties": {"name"}, "metadef_tags": {"name"},
    "metadef_resource_types": {"name"}, "metadef_namespace_resource_types": {"prefix"},
    "node_reference": {"node_reference_url"}, "cached_images": {"image_id"},
}
# How long after the last write only Glance makes `db contract` still refuses.
GLANCE_QUIET = timedelta(minutes=10)
_DUPLICATE_LIMIT = 5


class UnsupportedDatabase(Exception):
    """The database is not one we can migrate (older Glance, unknown revisions)."""


class Kind(enum.Enum):
    OURS = "ours"            # empty, or ours (alembic_version holds our revisions)
    GLANCE = "glance"        # a Glance 2024.1+ database not adopted yet
    ADOPTING = "adopting"    # adopted, contract not run yet


@dataclass(frozen=True)
class Detected:
    """What kind of database this is, and where our revisions are recorded."""

    kind: Kind
    version_table: str = VERSION_TABLE
    leftover_side_table: bool = False

    @property
    def adopting(self) -> bool:
        return self.kind is not Kind.OURS


def _versions(connection: sa.Connection, table: str) -> set[str]:
    rows = connection.execute(sa.select(sa.column("version_num")).select_from(sa.table(table)))
    return {row[0] for row in rows}


def detect(connection: sa.Connection, known: Iterable[str]) -> Detected:
    """Classify the database; UnsupportedDatabase when we must not touch it."""
    tables = set(sa.inspect(connection).get_table_names())
    side = ADOPTION_VERSION_TABLE in tables
    versions = _versions(connection, VERSION_TABLE) if VERSION_TABLE in tables else set()
    if not versions:
        if "migrate_version" in tables:
            raise UnsupportedDatabase(
                "This is an OpenStack Glance database under its old sqlalchemy-migrate "
                "control (table migrate_version). Upgrade it with the glance-manage of "
                f"{GLANCE_RELEASES} (`glance-manage db sync`) first, then run this "
                "glance-manage again.")
        return Detected(Kind.OURS)
    if versions <= set(known):
        return Detected(Kind.OURS, leftover_side_table=side)
    if versions == {GLANCE_HEAD}:
        if side:
            return Detected(Kind.ADOPTING, ADOPTION_VERSION_TABLE)
        return Detected(Kind.GLANCE, ADOPTION_VERSION_TABLE)
    listed = ", ".join(sorted(versions))
    if versions <= OLDER_GLANCE_REVISIONS | {GLANCE_HEAD}:
        raise UnsupportedDatabase(
            f"This is an OpenStack Glance database at revision {listed}, older than "
            f"{GLANCE_HEAD}. Upgrade it with the glance-manage of {GLANCE_RELEASES} "
            "first (`glance-manage db sync`, or finish its `db contract`), then run "
            "this glance-manage again.")
    raise UnsupportedDatabase(
        f"The database is at alembic revision(s) {listed}, which neither this release "
        f"nor {GLANCE_RELEASES} knows (a newer release's database?). Nothing was changed.")


def check_glance_schema(connection: sa.Connection) -> None:
    """UnsupportedDatabase unless the tables Glance 2024.1+ creates are all there."""
    inspector = sa.inspect(connection)
    tables = set(inspector.get_table_names())
    missing = [t for t in GLANCE_TABLES if t not in tables]
    for table, columns in GLANCE_TABLES.items():
        if table in tables:
            have = {c["name"] for c in inspector.get_columns(table)}
            missing += [f"{table}.{c}" for c in sorted(columns - have)]
    if missing:
        raise UnsupportedDatabase(
            f"alembic_version says {GLANCE_HEAD}, but the schema is not the one "
            f"{GLANCE_RELEASES} creates (missing: {', '.join(missing)}). Nothing was "
            "changed.")


# -- expand: Glance's schema -> ours at PIN, additions only ------------------------------

STANDARD_RESOURCE_TYPES = ("OS::Glance::Image", "OS::Cinder::Volume", "OS::Nova::Server",
                           "OS::Nova::Flavor", "OS::Nova::Aggregate", "OS::Trove::Instance")


@contextlib.contextmanager
def quiet_check_constraints() -> Iterator[None]:
    """SQLite table rebuilds (batch mode) drop the unnamed CHECK constraints Glance's
    booleans carry, with a warning; our schema has none, so that is the intent."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Unnamed CHECK constraint on reflected",
                                category=UserWarning)
        yield


def _run_revision(context: MigrationContext, module: ModuleType) -> None:
    """Run one of our revision modules' ``upgrade()`` on ``context``'s connection."""
    with Operations.context(context):
        module.upgrade()


def _triggers_missing(connection: sa.Connection) -> bool:
    queries = {"sqlite": "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                         "AND tbl_name = 'image_locations'",
               "mysql": "SELECT trigger_name FROM information_schema.triggers WHERE "
                        "trigger_schema = DATABASE() AND event_object_table = "
                        "'image_locations'",
               "postgresql": "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND "
                             "tgrelid = 'image_locations'::regclass"}
    return not connection.exec_driver_sql(queries[connection.dialect.name]).first()


def adopt(connection: sa.Connection, revisions: dict[str, ModuleType]) -> list[str]:
    """Add to a Glance 2024.1+ schema what our code needs up to :data:`PIN`.

    ``revisions`` maps our revision ids to their modules (0003 and 0004's expand
    are reused as they are). Like a revision, this is frozen: it knows the schema
    at :data:`PIN`, never the current models. Every change is an addition Glance
    ignores, or a loosening (``metadef_namespaces.owner`` nullable); each is skipped
    when already there, so that a run interrupted on MySQL (no transactional DDL)
    can be repeated. Returns what was done, one line each.
    """
    check_glance_schema(connection)
    context = MigrationContext.configure(connection, opts={"render_as_batch": True})
    op = Operations(context)
    done: list[str] = []
    inspector = sa.inspect(connection)
    tables = set(inspector.get_table_names())
    if "purged_image_ids" not in tables:
        _run_revision(context, revisions["0003_expand_purged_image_ids"])
        done.append("created purged_image_ids")
    location_columns = {c["name"] for c in inspector.get_columns("image_locations")}
    expand_0004 = revisions["0004_expand_location_metadata"]
    if "metadata" not in location_columns:
        _run_revision(context, expand_0004)
        done.append("added image_locations.metadata and the triggers keeping it in step "
                    "with meta_data")
    elif _triggers_missing(connection):
        for statement in expand_0004.TRIGGERS[connection.dialect.name]:
            connection.exec_driver_sql(statement)
        done.append("created the image_locations metadata triggers")
    if "runner" not in {c["name"] for c in inspector.get_columns("tasks")}:
        with op.batch_alter_table("tasks") as batch:
            batch.add_column(sa.Column("runner", sa.String(255), nullable=True))
        done.append("added tasks.runner")
    done += _add_missing_indexes(op, sa.inspect(connection))
    owner = next(c for c in sa.inspect(connection).get_columns("metadef_namespaces")
                 if c["name"] == "owner")
    if not owner["nullable"]:
        with op.batch_alter_table("metadef_namespaces") as batch:
            batch.alter_column("owner", existing_type=sa.String(255), nullable=True)
        done.append("made metadef_namespaces.owner nullable")
    done += _seed_resource_types(connection)
    return done


# Our indexes at PIN that Glance's schema lacks (by name; the others it has under the
# same name). Frozen with PIN: later revisions add their own indexes.
PIN_INDEXES = {
    "images": {"ix_images_updated_at": ["updated_at"], "ix_images_owner": ["owner"],
               "ix_images_status": ["status"], "ix_images_visibility": ["visibility"],
               "ix_images_name": ["name"], "ix_images_checksum": ["checksum"],
               "ix_images_os_hash_value": ["os_hash_value"],
               "ix_images_deleted_created_at_id": ["deleted", "created_at", "id"]},
    "image_properties": {"ix_image_properties_name": ["name"]},
    "image_tags": {"ix_image_tags_value": ["value"]},
    "image_members": {"ix_image_members_member": ["member"]},
    "image_locations": {"ix_image_locations_image_id": ["image_id"]},
    "tasks": {"ix_tasks_deleted_created_at_id": ["deleted", "created_at", "id"],
              "ix_tasks_deleted_expires_at": ["deleted", "expires_at"],
              "ix_tasks_owner": ["owner"], "ix_tasks_status": ["status"],
              "ix_tasks_type": ["type"], "ix_tasks_image_id": ["image_id"]},
}


def _add_missing_indexes(op: Operations, inspector: sa.Inspector) -> list[str]:
    """Create the indexes of :data:`PIN_INDEXES` the database lacks."""
    done = []
    for table, indexes in PIN_INDEXES.items():
        present = {index["name"] for index in inspector.get_indexes(table)}
        for name, columns in indexes.items():
            if name not in present:
                op.create_index(name, table, columns)
                done.append(f"created index {name}")
    return done


def _seed_resource_types(connection: sa.Connection) -> list[str]:
    """The standard metadef resource types a fresh database of ours starts with."""
    table = sa.table("metadef_resource_types", sa.column("name", sa.String),
                     sa.column("protected", sa.Boolean),
                     sa.column("created_at", sa.DateTime))
    present = set(connection.execute(sa.select(table.c.name)).scalars())
    now = timeutils.utcnow().replace(microsecond=0)
    missing = [name for name in STANDARD_RESOURCE_TYPES if name not in present]
    if missing:
        connection.execute(sa.insert(table), [
            {"name": name, "protected": True, "created_at": now} for name in missing])
    return [f"added metadef resource type {name}" for name in missing]


# -- contract: duplicates the unique constraints would refuse -----------------------------

@dataclass(frozen=True)
class UniqueKey:
    """A unique constraint of ours that Glance's schema does not enforce."""

    table: str
    columns: tuple[str, str]
    name: str


# Glance lets these repeat: it soft-deletes a removed tag or member and inserts a new
# row when it comes back (image_members is unique on image_id, member, deleted_at).
TIGHTENED = (UniqueKey("image_tags", ("image_id", "value"), "uq_image_tags_image_id_value"),
             UniqueKey("image_members", ("image_id", "member"),
                       "uq_image_members_image_id_member"))


@dataclass
class Duplicates:
    """Rows of one table that collide on a unique key."""

    removable: list[int] = field(default_factory=list)  # soft-deleted or exact copies
    conflicts: list[str] = field(default_factory=list)  # live rows a human must resolve


def _table(key: UniqueKey) -> sa.TableClause:
    return sa.table(key.table, sa.column("id", sa.Integer), sa.column("deleted", sa.Boolean),
                    *(sa.column(name, sa.String) for name in key.columns))


def find_duplicates(connection: sa.Connection, key: UniqueKey) -> Duplicates:
    """Rows that would break ``key``: which can go, and which need the operator.

    Groups are formed the database's way (its collation: MySQL's utf8 collations
    treat ``Foo`` and ``foo`` as equal). In a group, soft-deleted rows go when a
    live row remains (else all but the newest); live rows that are exact copies go
    but the newest; live rows with different spellings are conflicts.
    """
    table = _table(key)
    first, second = (table.c[name] for name in key.columns)
    groups = connection.execute(
        sa.select(first, second).group_by(first, second).having(sa.func.count() > 1)).all()
    found = Duplicates()
    for value_1, value_2 in groups:
        rows = connection.execute(
            sa.select(table.c.id, table.c.deleted, second)
            .where(first == value_1, second == value_2).order_by(table.c.id.desc())).all()
        live = [row for row in rows if not row.deleted]
        spellings = {row[2] for row in live}
        if len(spellings) > 1:
            found.conflicts.append(
                f"{key.table} rows {', '.join(str(row.id) for row in live)} "
                f"({key.columns[0]} {value_1}: {', '.join(map(repr, sorted(spellings)))})")
            continue
        keep = live[0] if live else rows[0]
        found.removable += [row.id for row in rows if row.id != keep.id]
    return found


def remove_duplicates(connection: sa.Connection, key: UniqueKey) -> int:
    """Delete the removable duplicates of ``key``; returns how many rows went."""
    ids = find_duplicates(connection, key).removable
    table = _table(key)
    for start in range(0, len(ids), 500):
        connection.execute(sa.delete(table).where(table.c.id.in_(ids[start:start + 500])))
    return len(ids)


def duplicate_conflicts(connection: sa.Connection) -> list[str]:
    """Live rows that would stop the unique constraints of the contract."""
    conflicts = []
    for key in TIGHTENED:
        conflicts += find_duplicates(connection, key).conflicts
    return conflicts


# -- contract: is Glance still writing? ---------------------------------------------------

def glance_writes(connection: sa.Connection, since: datetime) -> list[str]:
    """Evidence of writes only OpenStack Glance makes, newer than ``since``.

    Our code never soft-deletes a tag, member or property of a live image (it
    removes the row), and always names the process running a task; Glance does
    the first whenever one is removed and never the second. Best effort: a Glance
    node that only reads, or writes nothing of the sort, leaves no trace.
    """
    evidence = []
    images = sa.table("images", sa.column("id"), sa.column("deleted", sa.Boolean))
    for name, what in (("image_tags", "removed a tag"), ("image_members", "removed a member"),
                       ("image_properties", "removed a property")):
        child = sa.table(name, sa.column("image_id"), sa.column("deleted", sa.Boolean),
                         sa.column("deleted_at", sa.DateTime))
        latest = connection.execute(
            sa.select(sa.func.max(child.c.deleted_at))
            .select_from(child.join(images, images.c.id == child.c.image_id))
            .where(child.c.deleted.is_(True), images.c.deleted.is_(False),
                   child.c.deleted_at >= since)).scalar()
        if latest is not None:
            evidence.append(f"{what} at {latest:%Y-%m-%d %H:%M:%S} UTC")
    tasks = sa.table("tasks", sa.column("runner"), sa.column("created_at", sa.DateTime),
                     sa.column("updated_at", sa.DateTime))
    stamp = sa.func.coalesce(tasks.c.updated_at, tasks.c.created_at)
    latest = connection.execute(sa.select(sa.func.max(stamp)).where(
        tasks.c.runner.is_(None), stamp >= since)).scalar()
    if latest is not None:
        evidence.append(f"ran a task at {latest:%Y-%m-%d %H:%M:%S} UTC")
    return evidence


def contract_blockers(connection: sa.Connection, force: bool) -> list[str]:
    """Why the adoption's contract must not run now (empty: it may)."""
    blockers = []
    if not force:
        writes = glance_writes(connection, timeutils.utcnow() - GLANCE_QUIET)
        if writes:
            minutes = int(GLANCE_QUIET.total_seconds() // 60)
            blockers.append(
                f"OpenStack Glance still wrote to this database in the last {minutes} "
                f"minutes ({'; '.join(writes)}): contract would break the Glance nodes "
                "still serving it. Stop every Glance node first; contract runs once "
                f"Glance has written nothing for {minutes} minutes, or at once with "
                "`glance-manage db contract --force`.")
    conflicts = duplicate_conflicts(connection)
    if conflicts:
        shown = "; ".join(conflicts[:_DUPLICATE_LIMIT])
        more = len(conflicts) - _DUPLICATE_LIMIT
        blockers.append(
            "Live rows repeat what must be unique after contract (the database's "
            f"collation treats them as equal): {shown}"
            + (f" and {more} more" if more > 0 else "")
            + ". Remove the extra tag or member through the API, then run contract again.")
    return blockers


# -- finish: the database becomes one of ours ---------------------------------------------

def finish(connection: sa.Connection) -> list[str]:
    """Move our revisions into alembic_version, replacing Glance's; returns them."""
    heads = sorted(_versions(connection, ADOPTION_VERSION_TABLE))
    version = sa.table(VERSION_TABLE, sa.column("version_num"))
    connection.execute(sa.delete(version))
    connection.execute(sa.insert(version), [{"version_num": head} for head in heads])
    return heads


def drop_side_table(connection: sa.Connection) -> None:
    """Drop alembic_version_adoption (after :func:`finish` was committed)."""
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {ADOPTION_VERSION_TABLE}")


def describe(detected: Detected) -> str:
    """One line for ``db version`` about an adoption in progress (empty: none)."""
    if detected.kind is Kind.GLANCE:
        return (f"{GLANCE_HEAD} (an {GLANCE_RELEASES} database, not adopted yet: run "
                "`glance-manage db sync`)")
    if detected.kind is Kind.ADOPTING:
        return (f"adopted from {GLANCE_RELEASES}; alembic_version keeps Glance's "
                f"{GLANCE_HEAD} until `glance-manage db contract`")
    return ""


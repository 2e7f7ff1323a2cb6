"""Schema snapshots used by the migration rules (tables, columns, indexes, triggers)."""

from dataclasses import dataclass, field

import sqlalchemy as sa

TRIGGER_QUERIES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'trigger'",
    "mysql": "SELECT trigger_name FROM information_schema.triggers "
             "WHERE trigger_schema = DATABASE()",
    "postgresql": "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal",
}


@dataclass
class Snapshot:
    """What a migration may add or remove, per table."""

    columns: dict[str, dict[str, tuple[str, bool, bool]]] = field(default_factory=dict)
    indexes: dict[str, set[str]] = field(default_factory=dict)
    constraints: dict[str, set[str]] = field(default_factory=dict)
    triggers: set[str] = field(default_factory=set)


def snapshot(engine: sa.Engine) -> Snapshot:
    """Reflect ``engine``'s schema (alembic's own table left out)."""
    shot = Snapshot()
    with engine.connect() as connection:
        inspector = sa.inspect(connection)
        for table in inspector.get_table_names():
            if table == "alembic_version":
                continue
            shot.columns[table] = {
                c["name"]: (str(c["type"]).split(" ")[0], c["nullable"], c["default"] is not None)
                for c in inspector.get_columns(table)}
            shot.indexes[table] = {i["name"] for i in inspector.get_indexes(table)}
            shot.constraints[table] = (
                {u["name"] for u in inspector.get_unique_constraints(table)}
                | {f"fk:{','.join(f['constrained_columns'])}->{f['referred_table']}"
                   for f in inspector.get_foreign_keys(table)})
        shot.triggers = {row[0] for row in connection.exec_driver_sql(
            TRIGGER_QUERIES[engine.dialect.name])}
    return shot


def additions_only(before: Snapshot, after: Snapshot) -> list[str]:
    """Violations of the expand rule: nothing removed or tightened; new columns nullable."""
    problems = []
    for table, columns in before.columns.items():
        if table not in after.columns:
            problems.append(f"dropped table {table}")
            continue
        for name, (type_, nullable, _) in columns.items():
            if name not in after.columns[table]:
                problems.append(f"dropped column {table}.{name}")
                continue
            new_type, new_nullable, _ = after.columns[table][name]
            if new_type != type_:
                problems.append(f"changed type of {table}.{name}: {type_} -> {new_type}")
            if nullable and not new_nullable:
                problems.append(f"made {table}.{name} NOT NULL")
        for name, (_, nullable, has_default) in after.columns[table].items():
            if name not in columns and not (nullable or has_default):
                problems.append(f"added NOT NULL column {table}.{name} without a default")
        problems += [f"dropped index {i}" for i in before.indexes[table]
                     - after.indexes[table]]
        problems += [f"dropped constraint {c}" for c in before.constraints[table]
                     - after.constraints[table]]
    problems += [f"dropped trigger {t}" for t in before.triggers - after.triggers]
    return problems


def removals_only(before: Snapshot, after: Snapshot) -> list[str]:
    """Violations of the contract rule: nothing added; kept columns keep their type."""
    problems = []
    for table, columns in after.columns.items():
        if table not in before.columns:
            problems.append(f"added table {table}")
            continue
        for name, (type_, _, _) in columns.items():
            if name not in before.columns[table]:
                problems.append(f"added column {table}.{name}")
            elif before.columns[table][name][0] != type_:
                problems.append(f"changed type of {table}.{name}")
        problems += [f"added index {i}" for i in after.indexes[table]
                     - before.indexes[table]]
        problems += [f"added constraint {c}" for c in after.constraints[table]
                     - before.constraints[table]]
    problems += [f"added trigger {t}" for t in after.triggers - before.triggers]
    return problems

"""``glance-manage``: database administration.

Usage: ``glance-manage [--config-file FILE] db ACTION [options]``; see ``--help``
and doc/source/admin/upgrades.rst. Glance's older spellings (``db_sync``,
``db_version``, ``db_load_metadefs``, ...) are accepted as top-level commands.
"""

import argparse
import importlib
import json
import logging
import sys
from collections.abc import Callable

from oslo_config import cfg

import glance.conf  # noqa: F401 - registers every option
from glance import version
from glance.api import app as glance_app
from glance.conf import validate
from glance.db import adoption, migration, purge
from glance.db import errors as db_errors
from glance.db.sqlalchemy import engine as db_engine

CONF = cfg.CONF
DESCRIPTION = ("Database administration of the OpenStack Images API v2 server (glance): "
               "schema migrations, purge and metadata definitions.")

CHECK_EPILOG = """exit codes:
  0  the database is up to date
  1  error (for example the database cannot be reached)
  3  expand pending (also on an empty database): run `glance-manage db expand`
  4  data migrations pending: run `glance-manage db migrate`
  5  contract pending: run `glance-manage db contract` once every node runs the new code
The pending steps are listed in the order they will run; nothing is changed."""

NEXT_STEP = {
    migration.CheckResult.UP_TO_DATE: "Database is up to date. No upgrades needed.",
    migration.CheckResult.EXPAND_PENDING: (
        "Your database is not up to date. Your first step is to run "
        "`glance-manage db expand`."),
    migration.CheckResult.MIGRATE_PENDING: (
        "Your database is not up to date. Your next step is to run "
        "`glance-manage db migrate`."),
    migration.CheckResult.CONTRACT_PENDING: (
        "Your database is not up to date. Your next step is to run "
        "`glance-manage db contract`."),
}


ADOPTION_STOP = (
    "Contract was not run: this database was adopted from OpenStack Glance, whose "
    "nodes may still serve it, and contract would break them. Once no Glance node is "
    "left, run `glance-manage db contract`.")
CONTRACT_PENDING_GLANCE = (
    "Your database is not up to date. Your next step is to run `glance-manage db "
    "contract`, once no OpenStack Glance node serves this database any more.")


class UsageError(Exception):
    """Bad arguments found after parsing (exit code 2)."""


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of days, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, not {value}")
    return value


def _max_rows(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, not {text!r}") from None
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError(f"must be a positive integer or -1 (no limit), "
                                         f"not {value}")
    return value


# -- db actions --------------------------------------------------------------------------

def _version() -> int:
    detected = migration.detect()
    heads = migration.current_heads()
    note = adoption.describe(detected)
    if heads:
        print(", ".join(sorted(heads)) + (f" ({note})" if note else ""))
    else:
        print(note or "Database is not under migration control; run "
                      "`glance-manage db sync`.")
    return 0


def _report(applied: list[str], phase: str) -> None:
    if applied:
        print(f"Applied {phase} migrations: {', '.join(applied)}")
    else:
        print(f"No {phase} migrations pending.")


def _adopted_note(applied: list[str]) -> None:
    if adoption.ADOPT_STEP in applied:
        print(f"Adopted the {adoption.GLANCE_RELEASES} database: Glance nodes keep "
              "serving it until contract.")


def _sync() -> int:
    if CONF.category.check:
        return _check()
    applied = migration.db_sync()
    _adopted_note(applied)
    if migration.adoption_pending():
        if applied:
            print(f"Upgraded database to: {', '.join(sorted(migration.current_heads()))}")
        print(ADOPTION_STOP)
    elif applied:
        print(f"Upgraded database to: {', '.join(sorted(migration.current_heads()))}")
        print("Database is synced successfully.")
    else:
        print("Database is up to date. No migrations needed.")
    return 0


def _expand() -> int:
    applied = migration.expand()
    _report(applied, "expand")
    _adopted_note(applied)
    if applied:
        print("Database expansion succeeded. Next: `glance-manage db migrate`.")
    else:
        print("Database is up to date. No migrations needed.")
    return 0


def _migrate() -> int:
    applied = migration.migrate()
    _report(applied, "data")
    if applied and migration.adoption_pending():
        print("Data migration succeeded. Next, once no OpenStack Glance node serves this "
              "database any more: `glance-manage db contract`.")
    elif applied:
        print("Data migration succeeded. Next, once every node runs the new release: "
              "`glance-manage db contract`.")
    else:
        print("Database is up to date. No migrations needed.")
    return 0


def _contract() -> int:
    applied = migration.contract(force=CONF.category.force)
    _report(applied, "contract")
    if adoption.FINISH_STEP in applied:
        print("The database is no longer an OpenStack Glance database: Glance's "
              "glance-manage and glance-api must not use it any more.")
    print("Database contraction succeeded." if applied else
          "Database is up to date. No migrations needed.")
    return 0


def _check() -> int:
    detected = migration.detect()
    result, steps = migration.check()
    message = NEXT_STEP[result]
    if detected.adopting and result == migration.CheckResult.CONTRACT_PENDING:
        message = CONTRACT_PENDING_GLANCE
    if CONF.category.format == "json":
        print(json.dumps({
            "exit_code": int(result), "status": result.name.lower(),
            "message": message,
            "current": sorted(migration.current_heads()),
            "glance_adoption": detected.kind.value if detected.adopting else None,
            "pending": [{"phase": s.phase, "revision": s.revision,
                         "description": s.description} for s in steps],
        }, indent=2))
        return int(result)
    print(message)
    if detected.adopting:
        print(adoption.describe(detected))
    if steps:
        print("Pending steps, in the order they will run:")
        for number, step in enumerate(steps, 1):
            print(f"  {number}. {step.phase:<8} {step.revision}: {step.description}")
    return int(result)


def _purge() -> int:
    removed = purge.purge(db_engine.get_engine(), CONF.category.age_in_days,
                          CONF.category.max_rows)
    for table, count in sorted(removed.items()):
        print(f"Purged {count} row(s) from {table}")
    return 0


def _purge_images_table() -> int:
    count = purge.purge_images(db_engine.get_engine(), CONF.category.age_in_days,
                               CONF.category.max_rows)
    print(f"Purged {count} row(s) from images; their ids stay reserved in purged_image_ids")
    return 0


def _metadefs_loader():
    try:
        return importlib.import_module("glance.metadefs.loader")
    except ImportError as err:
        if err.name not in ("glance.metadefs", "glance.metadefs.loader"):
            raise
        raise RuntimeError("metadata definitions are not available in this build "
                           "(module glance.metadefs.loader is missing)") from None


def _load_metadefs() -> int:
    args = CONF.category
    try:
        report = _metadefs_loader().load(args.path, args.merge, args.prefer_new,
                                         args.overwrite)
    except Exception as err:
        if getattr(err, "report", None) is not None:
            print(err.report.summary())  # the good files did load
        raise
    print(report.summary())
    return 0


def _unload_metadefs() -> int:
    removed = _metadefs_loader().unload()
    print(f"Removed {removed} namespace(s) from the metadata definitions catalog")
    return 0


def _export_metadefs() -> int:
    loader = _metadefs_loader()
    path = CONF.category.path or loader.default_path()
    written = loader.export(CONF.category.path)
    print(f"Exported {len(written)} namespace(s) to {path}")
    return 0


# -- the command line --------------------------------------------------------------------

def _format_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="Output format of the check (default: text).")


def _sync_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true",
                        help="Change nothing: report as `db check` does (same exit codes).")
    _format_arg(parser)


def _purge_args(default_age: int, default_rows: int) -> Callable:
    def add(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--age_in_days", "--age-in-days", type=_non_negative_int,
                            default=default_age,
                            help=f"Only rows deleted more than this many days ago "
                                 f"(default {default_age}).")
        parser.add_argument("--max_rows", "--max-rows", type=_max_rows, default=default_rows,
                            help=f"At most this many rows per table, -1 for no limit "
                                 f"(default {default_rows}).")
    return add


def _load_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--path", default=None, help="Directory of definition files.")
    parser.add_argument("--merge", action="store_true",
                        help="Merge into existing namespaces instead of skipping them.")
    parser.add_argument("--prefer_new", "--prefer-new", action="store_true",
                        help="With --merge: the file wins over the database.")
    parser.add_argument("--overwrite", action="store_true",
                        help="With --merge: replace existing namespaces entirely.")


def _contract_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true",
                        help="On a database adopted from OpenStack Glance: contract even "
                             "though Glance wrote to it in the last minutes (only once "
                             "you know no Glance node is left).")


def _path_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--path", default=None, help="Directory to write definitions to.")


def _no_args(parser: argparse.ArgumentParser) -> None:
    pass


# name: (handler, help, argument adder, epilog)
ACTIONS: dict[str, tuple[Callable[[], int], str, Callable, str | None]] = {
    "version": (_version, "Print the schema revision(s) of the database.", _no_args, None),
    "sync": (_sync, "Run every pending migration: expand, migrate, contract.", _sync_args,
             CHECK_EPILOG),
    "expand": (_expand, "Phase 1: additive schema changes (safe while old code runs).",
               _no_args, None),
    "migrate": (_migrate, "Phase 2: data migrations (after expand).", _no_args, None),
    "contract": (_contract, "Phase 3: remove old schema (after migrate, once every node "
                 "runs the new release).", _contract_args, None),
    "check": (_check, "Report pending migrations through the exit code; change nothing.",
              _format_arg, CHECK_EPILOG),
    "purge": (_purge, "Hard-delete soft-deleted rows of every table except images.",
              _purge_args(30, 100), None),
    "purge_images_table": (_purge_images_table,
                           "Hard-delete soft-deleted image rows; their ids stay reserved.",
                           _purge_args(180, 100), None),
    "load_metadefs": (_load_metadefs, "Load metadata definitions from files.", _load_args,
                      None),
    "unload_metadefs": (_unload_metadefs, "Remove every metadata definition.", _no_args,
                        None),
    "export_metadefs": (_export_metadefs, "Write metadata definitions to files.", _path_args,
                        None),
}
# Glance's top-level spellings.
LEGACY = {"db_version": "version", "db_sync": "sync", "db_upgrade": "sync",
          "db_expand": "expand", "db_migrate": "migrate", "db_contract": "contract",
          "db_check": "check", "db_load_metadefs": "load_metadefs",
          "db_unload_metadefs": "unload_metadefs", "db_export_metadefs": "export_metadefs"}


def _add_action(subparsers, name: str, action: str, **extra) -> None:
    _, help_text, add_args, epilog = ACTIONS[action]
    parser = subparsers.add_parser(name, help=help_text, description=help_text,
                                   epilog=epilog, **extra,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(action=action)
    add_args(parser)


def _add_commands(subparsers) -> None:
    db = subparsers.add_parser(
        "db", help="Database schema and data commands.", epilog=CHECK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Zero-downtime upgrade: `db expand`, then `db migrate`, upgrade every "
                    "node, then `db contract`. `db sync` runs all three.")
    actions = db.add_subparsers(dest="db_action", metavar="{" + ",".join(ACTIONS) + "}")
    actions.required = True
    for action in ACTIONS:
        _add_action(actions, action, action)
    for legacy, action in LEGACY.items():
        _add_action(subparsers, legacy, action)


command_opt = cfg.SubCommandOpt("category", title="Commands", handler=_add_commands,
                                help="Available categories")


def _one_line(err: BaseException) -> str:
    """A one-line description of ``err``: the driver's message, no SQL, no traceback."""
    text = str(db_errors.driver_error(err)).strip()
    return text.splitlines()[0] if text else type(err).__name__


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``glance-manage`` console script."""
    CONF.register_cli_opt(command_opt)
    # Fail at once on an unreachable database instead of retrying for minutes.
    CONF.set_default("max_retries", 0, group="database")
    # oslo.db's warnings (e.g. a URL without +driver) would precede our one-line error.
    logging.getLogger("oslo_db").setLevel(logging.ERROR)
    try:
        CONF(sys.argv[1:] if argv is None else argv, project="glance", prog="glance-manage",
             version=version.version_string, description=DESCRIPTION,
             default_config_files=glance_app.default_config_files())
    except cfg.Error as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 2
    try:
        # Deprecated options are glance-api's to report; only bad values stop us.
        validate.check_values(CONF)
    except validate.ConfigError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        CONF.reset()
        CONF.unregister_opt(command_opt)
        return 1
    action = CONF.category.action
    try:
        return ACTIONS[action][0]()
    except Exception as err:  # noqa: BLE001 - one line, no traceback
        ours = isinstance(err, (migration.MigrationOrderError, migration.UnsupportedDatabase))
        text = str(err) if ours else f"{type(err).__name__}: {_one_line(err)}"
        if action == "check" or (action == "sync" and CONF.category.check):
            if CONF.category.format == "json":
                print(json.dumps({"exit_code": 1, "status": "error", "message": text}))
        print(f"ERROR: {text}", file=sys.stderr)
        return 1
    finally:
        try:
            db_engine.dispose()
        except Exception:  # noqa: BLE001 - the engine never started (bad connection)
            pass
        CONF.reset()
        CONF.unregister_opt(command_opt)


if __name__ == "__main__":
    sys.exit(main())

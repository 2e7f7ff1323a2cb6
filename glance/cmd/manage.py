"""``glance-manage``: database administration.

Usage: ``glance-manage [--config-file FILE] db {sync,version}``.
"""

import sys

from oslo_config import cfg
from oslo_db import exception as db_exc

import glance.conf  # noqa: F401 - registers every option
from glance import version
from glance.api import app as glance_app
from glance.db import migration

CONF = cfg.CONF


def _db_sync() -> int:
    migration.db_sync()
    print("Database is synced successfully.")
    return 0


def _db_version() -> int:
    heads = migration.current_heads()
    print(", ".join(heads) if heads else
          "Database is not under migration control; run `glance-manage db sync`.")
    return 0


DB_COMMANDS = {"sync": _db_sync, "version": _db_version}


def _add_commands(subparsers) -> None:
    db = subparsers.add_parser("db", help="Database schema commands.")
    db_actions = db.add_subparsers(dest="action", metavar="{sync,version}")
    db_actions.required = True
    db_actions.add_parser("sync", help="Apply every pending migration.")
    db_actions.add_parser("version", help="Print the schema revision(s).")


command_opt = cfg.SubCommandOpt("category", title="Commands", handler=_add_commands,
                                help="Available categories")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``glance-manage`` console script."""
    CONF.register_cli_opt(command_opt)
    try:
        CONF(sys.argv[1:] if argv is None else argv, project="glance", prog="glance-manage",
             version=version.version_string,
             default_config_files=glance_app.default_config_files())
    except cfg.Error as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 2
    try:
        return DB_COMMANDS[CONF.category.action]()
    except (db_exc.DBError, Exception) as err:  # noqa: BLE001 - one line, no traceback
        print(f"ERROR: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    finally:
        CONF.unregister_opt(command_opt)


if __name__ == "__main__":
    sys.exit(main())

"""``glance-status upgrade check``: is this node ready to run (the new) glance-api?

Built on oslo.upgradecheck, like Glance's and the other services' ``*-status``
commands: ``glance-status [--config-file FILE ...] upgrade check [--json]``
prints one result per check and exits with the worst of them: 0 success,
1 warning (it will run; something needs attention), 2 failure (it will not
serve properly until fixed), 255 a check itself crashed or the configuration
cannot be read.

Checks: the database schema (pending migrations, a Glance database not adopted
yet, the database unreachable), options glance does not support or does not
use, the image stores (file store directories exist and are writable; other
stores' settings as glance_store reads them), the policy file (it parses, its
rules parse, its rule names are glance's), and Glance 33's own three checks
under their names.
"""

import logging
import os
import sys
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import yaml  # noqa: E402
from glance_store import exceptions as store_exc  # noqa: E402
from oslo_config import cfg  # noqa: E402
from oslo_policy import policy as oslo_policy  # noqa: E402
from oslo_upgradecheck import common_checks, upgradecheck  # noqa: E402
from stevedore import driver  # noqa: E402

import glance.conf  # noqa: E402,F401 - registers every option
from glance import policies, secrets  # noqa: E402
from glance import policy as glance_policy  # noqa: E402,F401 - [oslo_policy] defaults
from glance.api import app as glance_app  # noqa: E402
from glance.conf import libraries, unsupported, validate  # noqa: E402
from glance.conf import store as store_conf  # noqa: E402
from glance.db import adoption, migration  # noqa: E402
from glance.db import errors as db_errors  # noqa: E402
from glance.db.sqlalchemy import engine as db_engine  # noqa: E402

CONF = cfg.CONF
SUCCESS, WARNING, FAILURE = (upgradecheck.Code.SUCCESS, upgradecheck.Code.WARNING,
                             upgradecheck.Code.FAILURE)
Result = upgradecheck.Result


def _one_line(err: BaseException) -> str:
    cause = db_errors.driver_error(err)
    text = (str(cause).strip().splitlines() or [""])[0]
    return secrets.mask(f"{type(cause).__name__}: {text}" if text else type(cause).__name__)


def _steps(steps: list[migration.Step]) -> str:
    return ", ".join(f"{step.phase} {step.revision}" for step in steps)


def _sqlite_file() -> str | None:
    """The embedded database's file, if [database] connection is SQLite on a file."""
    url = CONF.database.connection
    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///").split("?", 1)[0]
    return path or None


def check_database() -> Result:
    """The schema is at the head of our migrations (or will be made so)."""
    sqlite_file = _sqlite_file()
    if sqlite_file and not os.path.exists(sqlite_file):
        directory = _nearest_existing(os.path.dirname(os.path.abspath(sqlite_file)))
        if not os.access(directory, os.W_OK | os.X_OK):
            return Result(FAILURE, f"The SQLite database {sqlite_file} does not exist and "
                                   f"{directory} is not writable: glance-api cannot "
                                   "create it.")
        return Result(SUCCESS, f"The SQLite database {sqlite_file} does not exist yet: "
                               "glance-api creates it when it starts.")
    try:
        detected = migration.detect()
        code, steps = migration.check()
    except migration.UnsupportedDatabase as err:
        return Result(FAILURE, f"{err}")
    except Exception as err:  # noqa: BLE001 - report, never trace back
        return Result(FAILURE, f"The database cannot be used: {_one_line(err)}")
    finally:
        db_engine.dispose()
    if detected.kind is adoption.Kind.GLANCE:
        return Result(FAILURE, "This is an OpenStack Glance database that has not been "
                               "adopted yet; glance-api refuses to serve it. Run "
                               "`glance-manage db sync` (Glance nodes may keep serving it).")
    if code is migration.CheckResult.UP_TO_DATE:
        return Result(SUCCESS)
    pending = _steps(steps)
    if code is migration.CheckResult.EXPAND_PENDING:
        if sqlite_file:
            return Result(WARNING, f"Migrations pending ({pending}): glance-api applies "
                                   "them to the embedded SQLite database when it starts.")
        return Result(FAILURE, f"The database schema is not expanded for this release "
                               f"({pending}). Run `glance-manage db sync` (or `db expand`, "
                               "`db migrate`, `db contract` for a rolling upgrade).")
    if detected.adopting:
        return Result(WARNING, f"Adopted OpenStack Glance database, still readable by "
                               f"Glance ({pending}). Run `glance-manage db contract` once "
                               "no Glance node serves it any more.")
    return Result(WARNING, f"Migrations pending ({pending}); glance-api serves the "
                           "database meanwhile. Run `glance-manage db migrate` and, once "
                           "every node runs this release, `glance-manage db contract`.")


def check_options() -> Result:
    """Every value is valid; options glance does not support or use are named."""
    try:
        libraries.register_dynamic_opts(CONF)
        validate.check_values(CONF)
    except (validate.ConfigError, ValueError) as err:
        return Result(FAILURE, f"glance-api would not start: {err}")
    refused, warned = [], []
    for row, names in unsupported.findings(CONF):
        line = f"[{row.group}] {', '.join(names)} ({row.reason})"
        (refused if row.action == unsupported.REFUSE else warned).append(line)
    for section, keys in unsupported.unused_keys(CONF).items():
        reason = unsupported.UNUSED_SECTIONS.get(section, "no such option")
        warned.append(f"[{section}] {', '.join(keys)} (not used: {reason})")
    if refused:
        return Result(FAILURE, "glance-api will not start while these are set: "
                               + "; ".join(refused)
                               + ("; also ignored: " + "; ".join(warned) if warned else ""))
    if warned:
        return Result(WARNING, "Ignored by glance: " + "; ".join(warned))
    return Result(SUCCESS)


def _nearest_existing(path: str) -> str:
    while path and not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def _file_store_problem(directory: str) -> str | None:
    if os.path.isdir(directory):
        if not os.access(directory, os.W_OK | os.X_OK):
            return f"{directory} is not writable"
        return None
    if os.path.exists(directory):
        return f"{directory} is not a directory"
    parent = _nearest_existing(directory)
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK | os.X_OK):
        return f"{directory} does not exist and cannot be created ({parent} is not writable)"
    return None


def _file_directories(group: str) -> list[str]:
    section = CONF[group]
    directories = [entry.rsplit(":", 1)[0] if entry.rsplit(":", 1)[-1].isdigit() else entry
                   for entry in (section.filesystem_store_datadirs or [])]
    if not directories and section.filesystem_store_datadir:
        directories = [section.filesystem_store_datadir]
    return directories


def _driver_problem(store_type: str, backend: str | None) -> str | None:
    """Load a glance_store driver and let it read its settings (no I/O for most)."""
    try:
        kwargs = {"backend": backend} if backend else {}
        store = driver.DriverManager("glance_store.drivers", store_type, invoke_on_load=True,
                                     invoke_args=[CONF], invoke_kwds=kwargs).driver
        store.configure(re_raise_bsc=True)
    except store_exc.BadStoreConfiguration as err:
        return str(err.msg if hasattr(err, "msg") else err)
    except Exception as err:  # noqa: BLE001 - a missing client library, bad value ...
        return _one_line(err)
    return None


def check_stores() -> Result:
    """File store directories usable; other stores' settings accepted by glance_store."""
    if CONF.enabled_backends:
        store_conf.register_backend_opts(CONF)
        stores = [(name, kind, name) for name, kind in CONF.enabled_backends.items()]
    else:
        stores = [(kind, kind, None) for kind in [CONF.glance_store.default_store]]
    problems, notes = [], []
    for name, kind, backend in stores:
        if kind == "file":
            for directory in _file_directories(backend or "glance_store"):
                problem = _file_store_problem(directory)
                if problem:
                    problems.append(f"{name}: {problem}")
            continue
        problem = _driver_problem(kind, backend)
        if problem:
            problems.append(f"{name} ({kind}): {problem}")
        elif kind != "http":
            notes.append(f"{name} ({kind}): settings accepted; not contacted")
    if problems:
        return Result(FAILURE, "; ".join(problems))
    return Result(SUCCESS, "; ".join(notes) or None)


class _ParseErrors(logging.Handler):
    """Collects oslo.policy's "Failed to understand rule" messages."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def check_policy() -> Result:
    """The policy file parses, each rule parses, and its rule names are glance's."""
    path = CONF.find_file(CONF.oslo_policy.policy_file)
    if not path:
        return Result(SUCCESS, "No policy file: the defaults in code apply.")
    try:
        with open(path) as handle:
            rules = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as err:
        first = (str(err).strip().splitlines() or [""])[0]
        return Result(FAILURE, f"{path} cannot be read as YAML: {first}")
    rules = rules or {}
    if not isinstance(rules, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in rules.items()):
        return Result(FAILURE, f"{path} must map rule names to check strings.")
    collector = _ParseErrors()
    parser_log = logging.getLogger("oslo_policy._parser")
    level, propagate = parser_log.level, parser_log.propagate
    parser_log.setLevel(logging.WARNING)
    parser_log.propagate = False  # reported here, not as a traceback on stderr
    parser_log.addHandler(collector)
    try:
        oslo_policy.Rules.from_dict(rules)
    finally:
        parser_log.removeHandler(collector)
        parser_log.setLevel(level)
        parser_log.propagate = propagate
    if collector.messages:
        return Result(FAILURE, f"{path}: " + "; ".join(collector.messages))
    known = {rule.name for rule in policies.list_rules()}
    referenced = {part.split(":", 1)[1] for text in rules.values()
                  for part in text.replace("(", " ").replace(")", " ").split()
                  if part.startswith("rule:")}
    unknown = sorted(name for name in rules if name not in known | referenced)
    if unknown:
        return Result(WARNING, f"{path}: rules glance does not have, so they have no "
                               f"effect (a typo?): {', '.join(unknown)}")
    return Result(SUCCESS)


def check_sheepdog_store() -> Result:
    """Glance's check: the sheepdog store was removed."""
    kinds = list((CONF.enabled_backends or {}).values()) + list(CONF.glance_store.stores)
    if "sheepdog" in kinds:
        return Result(FAILURE, 'The "sheepdog" backend store driver has been removed, but '
                               "current settings have it configured.")
    return Result(SUCCESS)


def check_owner_is_tenant() -> Result:
    """Glance's check: owner_is_tenant = False has no upgrade path."""
    for path in validate.config_files(CONF):
        values = validate.parse_file(path).get("DEFAULT", {}).get("owner_is_tenant", [])
        if values and values[-1].strip().lower() in ("false", "0", "no", "off"):
            return Result(FAILURE, 'The "owner_is_tenant" option has been removed and '
                                   "there is no upgrade path for installations that had "
                                   "this option set to False.")
    return Result(SUCCESS)


class Checks(upgradecheck.UpgradeCommands):
    """glance's upgrade checks, Glance 33's three last (under Glance's names)."""

    _upgrade_checks = (
        ("Database schema", lambda self: check_database()),
        ("Configuration options", lambda self: check_options()),
        ("Image stores", lambda self: check_stores()),
        ("Policy file", lambda self: check_policy()),
        ("Sheepdog Driver Removal", lambda self: check_sheepdog_store()),
        ("Policy File JSON to YAML Migration",
         (common_checks.check_policy_json, {"conf": CONF})),
        ("Config option owner_is_tenant removal", lambda self: check_owner_is_tenant()),
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``glance-status`` console script."""
    # Libraries' log lines (oslo.db, glance_store) would clutter the report.
    logging.getLogger().setLevel(logging.CRITICAL)
    try:
        return upgradecheck.main(CONF, "glance", Checks(),
                                 argv=sys.argv[1:] if argv is None else argv,
                                 default_config_files=glance_app.default_config_files())
    except (cfg.ConfigFilesNotFoundError, cfg.ConfigDirNotFoundError,
            cfg.ConfigFileParseError) as err:
        print(f"ERROR: {validate.load_error(err)}", file=sys.stderr)
        return 255  # not a check result (those are 0, 1 and 2)


if __name__ == "__main__":
    sys.exit(main())

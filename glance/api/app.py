"""Application start-up: config files -> checks -> logging -> state -> database -> paste app.

:func:`start_up` is what every entry point runs once per process before it
serves: it reads the files, registers the options that depend on them, checks
every value (glance/conf/validate.py), sets up logging and reports the
unsupported options (glance/conf/unsupported.py). Each step's failure is a
:class:`~glance.conf.validate.ConfigError` with a one-line message.
"""

import os
import sys

from oslo_config import cfg
from oslo_log import log as logging
from paste import deploy

import glance.conf  # noqa: F401 - registers every option
from glance import (
    image_cache,
    policy,  # noqa: F401 - registers [oslo_policy] with glance's defaults
    secrets,
    version,
)
from glance import store as image_store
from glance.api import flavors, preflight
from glance.conf import dependencies, libraries, unsupported, validate
from glance.db import adoption, migration
from glance.db.sqlalchemy import engine as db_engine

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

CONFIG_DIR_ENV = "OS_GLANCE_CONFIG_DIR"
CONFIG_FILE_ENV = "OS_GLANCE_CONFIG_FILE"
CONFIG_NAME = "glance-api.conf"
PASTE_NAME = "glance-api-paste.ini"
_SOURCE_ETC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "etc")

_config_loaded = False
DESCRIPTION = ("OpenStack Images API v2 server (glance, a drop-in for OpenStack Glance 33): "
               "serves the API on [DEFAULT] bind_host:bind_port with [DEFAULT] workers "
               "processes.")


def default_config_files() -> list[str]:
    """Config files from the environment, else /etc/glance, else none (embedded defaults)."""
    if os.environ.get(CONFIG_FILE_ENV):
        return [os.environ[CONFIG_FILE_ENV]]
    directory = os.environ.get(CONFIG_DIR_ENV)
    candidates = [directory] if directory else ["/etc/glance"]
    for candidate in candidates:
        path = os.path.join(candidate, CONFIG_NAME)
        if os.path.exists(path):
            extra = os.path.join(candidate, "glance-image-import.conf")
            return [path] + ([extra] if os.path.exists(extra) else [])
    return []


def load_config(args: list[str] | None = None,
                config_files: list[str] | None = None) -> None:
    """Parse the command line and config files into the global CONF.

    Raises ConfigError when a file is missing or is not an ini file.
    """
    global _config_loaded  # noqa: PLW0603 - process-wide on purpose: CONF is parsed once
    try:
        CONF(args if args is not None else [], project="glance", prog="glance-api",
             version=version.version_string, description=DESCRIPTION,
             default_config_files=(config_files if config_files is not None
                                   else default_config_files()))
    except (cfg.ConfigFilesNotFoundError, cfg.ConfigDirNotFoundError,
            cfg.ConfigFileParseError, cfg.ConfigFilesPermissionDeniedError) as err:
        raise validate.load_error(err) from None
    _config_loaded = True


def _logs_elsewhere() -> bool:
    """Whether the log goes somewhere other than stderr (a file, syslog, journal)."""
    return bool(CONF.log_file or CONF.use_syslog or CONF.use_journal)


def setup_logging() -> None:
    """oslo.log's set-up; a log file that cannot be opened or a missing journald
    binding is a ConfigError (one line)."""
    dependencies.check_logging(CONF)
    try:
        logging.setup(CONF, "glance")
    except OSError as err:
        raise validate.ConfigError(
            f"[DEFAULT] log_file / log_dir: cannot open {err.filename or 'the log'}: "
            f"{err.strerror or err}") from None
    except logging.LogConfigError as err:
        raise validate.ConfigError(f"[DEFAULT] log_config_append: "
                                   f"{validate.one_line(err)}") from None
    except (RuntimeError, ValueError, KeyError) as err:
        raise validate.ConfigError(f"cannot set up logging: {type(err).__name__}: "
                                   f"{validate.one_line(err)}") from None


def start_up(args: list[str] | None = None,
             config_files: list[str] | None = None) -> None:
    """Load and check the configuration, set up logging, report unsupported options.

    Raises ConfigError (one line) when the process must not serve.
    """
    if args is not None or config_files is not None or not _config_loaded:
        load_config(args, config_files)
    try:
        libraries.register_dynamic_opts(CONF)
    except ValueError as err:
        raise validate.ConfigError(str(err)) from None
    deprecations = validate.check_values(CONF)
    setup_logging()
    validate.replay(deprecations)
    try:
        unsupported.check(CONF)
    except validate.ConfigError as err:
        if _logs_elsewhere():
            LOG.critical("%s", err)
        raise


def paste_config_path() -> str:
    """The paste file: [paste_deploy] config_file, next to the config, or the shipped one."""
    if CONF.paste_deploy.config_file:
        path = os.path.abspath(CONF.paste_deploy.config_file)
        if not os.path.isfile(path):
            raise validate.ConfigError(f"[paste_deploy] config_file = {path}: no such file")
        return path
    for config_file in CONF.config_file:
        beside = os.path.join(os.path.dirname(os.path.abspath(config_file)), PASTE_NAME)
        if os.path.exists(beside):
            return beside
    for directory in (_SOURCE_ETC, os.path.join(sys.prefix, "etc", "glance")):
        shipped = os.path.join(directory, PASTE_NAME)
        if os.path.exists(shipped):
            return shipped
    raise validate.ConfigError(f"Cannot find {PASTE_NAME}; set [paste_deploy] config_file.")


def prepare_state() -> None:
    """Create the state directory; migrate the embedded SQLite database if needed."""
    state_path = os.path.abspath(CONF.state_path)
    os.makedirs(state_path, exist_ok=True)
    CONF.set_override("state_path", state_path)
    _check_schema()
    if CONF.database.connection.startswith("sqlite") and not migration.is_current():
        applied = migration.db_sync()
        if applied:
            LOG.info("Created or upgraded the embedded SQLite database: %s",
                     ", ".join(applied))
    db_engine.dispose()


def _check_schema() -> None:
    """Refuse to serve an OpenStack Glance database not adopted yet (every request
    would fail on it) or one glance-manage refuses; a database that does not answer
    yet is left to the requests (they report it)."""
    try:
        detected = migration.detect()
    except migration.UnsupportedDatabase:
        raise
    except Exception as err:  # noqa: BLE001 - the database may come up later
        LOG.warning("Could not check the database schema at start-up: %s", err)
        return
    if detected.kind is adoption.Kind.GLANCE:
        raise RuntimeError("This is an OpenStack Glance database that glance-manage has "
                           "not adopted yet: run `glance-manage db sync` first (Glance "
                           "nodes may keep serving it).")


def check_paste() -> str:
    """The paste application the flavor loads; PasteConfigError (one line) when the
    paste file cannot serve the flavor. Builds nothing: safe before forking."""
    return flavors.check(paste_config_path(), CONF.paste_deploy.flavor)


def check_serving() -> str:
    """What serving needs beyond valid option values, checked before anything is
    built: the paste file and flavor, the optional packages, the directories
    written to, the policy files (glance/api/preflight.py). Returns the paste
    application's name; ConfigError (one line) when the process must not serve."""
    name = check_paste()
    preflight.check(CONF)
    return name


def _one_line(err: BaseException) -> str:
    text = validate.one_line(err)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def build_app():
    """Set up the stores and build the paste application, as every serving
    process does once; a failure is a ConfigError (one line) saying which step."""
    try:
        image_store.init()
    except Exception as err:  # noqa: BLE001 - glance_store raises RuntimeError & co
        raise validate.ConfigError(f"cannot set up the image stores: {_one_line(err)}"
                                   ) from err
    try:
        return load_paste_app()
    except validate.ConfigError:
        raise
    except Exception as err:  # noqa: BLE001 - any factory of the paste file
        raise validate.ConfigError(
            f"cannot build the application of {paste_config_path()} ([paste_deploy] "
            f"flavor = {CONF.paste_deploy.flavor or ''}): {_one_line(err)}") from err


def load_paste_app(name: str | None = None):
    """Build the WSGI application (``glance-api[-flavor]``) from the paste file.

    The first config file is offered to filters that read their own copy of the
    configuration (Glance's file configures oslo's CORS filter with
    ``oslo_config_project = glance``), so they see the same ``[cors]`` as we do.
    """
    path = paste_config_path()
    name = name or check_paste()
    LOG.debug("Loading %s from %s", name, path)
    image_cache.cache_downloads(True)
    global_conf = {"oslo_config_file": CONF.config_file[0]} if CONF.config_file else None
    return deploy.loadapp(f"config:{path}", name=name, global_conf=global_conf)


def init_app(args: list[str] | None = None, config_files: list[str] | None = None,
             prepare: bool = True):
    """Everything a WSGI server needs: returns the application.

    With ``prepare`` (a WSGI server's process, tests) it runs :func:`start_up`
    and prepares the state; without it (a worker of the standalone server,
    whose master did both) it only sets up logging.
    """
    if prepare:
        start_up(args, config_files)
        check_serving()
    else:
        if args is not None or config_files is not None or not _config_loaded:
            load_config(args, config_files)
        logging.setup(CONF, "glance")
    secrets.install()
    if prepare:
        prepare_state()
    return build_app()

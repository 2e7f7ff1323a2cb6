"""[database]: oslo.db's options with an embedded SQLite default."""

from oslo_config import cfg
from oslo_db import options as db_options

DEFAULT_CONNECTION = "sqlite:///$state_path/glance.sqlite"


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register oslo.db's [database] options; default to SQLite under state_path."""
    db_options.set_defaults(conf, connection=DEFAULT_CONNECTION)


def list_opts() -> list:
    """Options for the sample config generator."""
    return db_options.list_opts()

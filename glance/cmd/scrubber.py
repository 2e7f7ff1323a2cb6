"""``glance-scrubber``: reclaim the data of images deleted with delayed delete.

Usage::

    glance-scrubber [--config-file FILE ...]           # one run, then exit (cron)
    glance-scrubber --daemon [--config-file FILE ...]  # a run every wakeup_time seconds
    glance-scrubber --restore IMAGE_ID                 # undo a delete (pending_delete)

Without ``--config-file`` the configuration is found as OpenStack Glance finds it
(``glance-scrubber.conf`` in ``~/.glance``, ``~``, ``/etc/glance``, ``/etc``); when
there is none, glance-api's own file is read instead (``$OS_GLANCE_CONFIG_FILE``,
``$OS_GLANCE_CONFIG_DIR/glance-api.conf`` or ``/etc/glance/glance-api.conf``), which
names the same database and stores.

Exit codes: 0 done (store errors are logged and retried by the next run, as in
Glance), 1 an error (database or stores unreachable, unknown image, image not
``pending_delete``), 2 bad options or configuration.
"""

import os
import signal
import sys
import threading

from oslo_config import cfg
from oslo_log import log as logging

import glance.conf  # noqa: F401 - registers every option
from glance import exception, secrets, version
from glance import store as image_store
from glance.api import app as glance_app
from glance.conf import scrubber as scrubber_conf
from glance.db import errors as db_errors
from glance.db.sqlalchemy import engine as db_engine
from glance.services import scrubber as scrubber_service

CONF = cfg.CONF
LOG = logging.getLogger(__name__)
PROG = "glance-scrubber"
DESCRIPTION = ("Reclaims the data of deleted images of the OpenStack Images API v2 server "
               "(glance) when [DEFAULT] delayed_delete is on: once, or with --daemon every "
               "wakeup_time seconds; --restore IMAGE_ID takes an image back.")


class CommandError(Exception):
    """A one-line error for the operator, with its exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def default_config_files() -> list[str]:
    """glance-scrubber.conf where Glance looks for it, else glance-api's file."""
    found = cfg.find_config_files(project="glance", prog=PROG)
    if any(os.path.basename(path) == f"{PROG}.conf" for path in found):
        return found
    return glance_app.default_config_files() + found


def _one_line(err: BaseException) -> str:
    text = str(db_errors.driver_error(err)).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _load_config(argv: list[str]) -> None:
    CONF.set_default("use_stderr", True)
    try:
        CONF(argv, project="glance", prog=PROG, version=version.version_string,
             description=DESCRIPTION, default_config_files=default_config_files())
        # Every value this command uses, so a bad one fails here, in one line.
        for name in ("scrub_time", "scrub_pool_size", "wakeup_time", "daemon", "restore",
                     "delayed_delete", "enabled_backends"):
            getattr(CONF, name)
        CONF.database.connection  # noqa: B018 - validates the value
    except cfg.Error as err:
        raise CommandError(_one_line(err), code=2) from err
    except SystemExit as err:
        # argparse (exit 2, or 0 for --help) and oslo.config's check of command-line
        # options set in a file (exit 1) have printed their one line already.
        raise SystemExit(0 if err.code == 0 else 2) from None


def _stop_on_signals(stop: threading.Event) -> None:
    """The first SIGTERM/SIGINT stops after the locations in progress; a second one
    kills at once (which is safe too)."""
    def _handler(signum, _frame):
        LOG.info("Signal %s received: stopping after the locations in progress",
                 signal.Signals(signum).name)
        stop.set()
        signal.signal(signum, signal.SIG_DFL)

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)


def _init_stores() -> None:
    try:
        image_store.init()
    except Exception as err:  # noqa: BLE001 - one line, no traceback
        raise CommandError(f"cannot set up the image stores: {_one_line(err)}") from err


def _run(scrubber: scrubber_service.Scrubber) -> None:
    if CONF.restore and CONF.daemon:
        raise CommandError("--restore and --daemon cannot be used together: restore an "
                           "image with a separate glance-scrubber --restore command.")
    if CONF.restore:
        try:
            scrubber.restore(CONF.restore)
        except exception.GlanceException as err:
            raise CommandError(str(err)) from err
        return
    _init_stores()
    _stop_on_signals(scrubber.stop)
    if CONF.daemon:
        scrubber.run_forever(CONF.wakeup_time)
    else:
        scrubber.run()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``glance-scrubber`` console script."""
    scrubber_conf.register_command_opts(CONF)
    try:
        _load_config(sys.argv[1:] if argv is None else argv)
        logging.setup(CONF, "glance")
        secrets.install()
        _run(scrubber_service.Scrubber(CONF.scrub_time, CONF.scrub_pool_size))
        return 0
    except CommandError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return err.code
    except Exception as err:  # noqa: BLE001 - one line, no traceback
        print(f"ERROR: {type(err).__name__}: {_one_line(err)}", file=sys.stderr)
        return 1
    finally:
        try:
            db_engine.dispose()
        except Exception:  # noqa: BLE001 - the engine never started (bad connection)
            pass
        CONF.reset()
        scrubber_conf.unregister_command_opts(CONF)


if __name__ == "__main__":
    sys.exit(main())

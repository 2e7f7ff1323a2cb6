"""``glance-api``: the standalone multi-process server (gunicorn, threaded workers).

Usage: ``glance-api [--config-file FILE ...] [--debug]``. Listens on
``[DEFAULT] bind_host``:``bind_port`` with ``workers`` processes of
``threads_per_worker`` threads each.

Before gunicorn starts, the master checks the configuration
(glance/api/app.py, glance/api/preflight.py), prepares the state and builds the
application once in a forked child, exactly as each worker will: whatever would
stop a worker from booting stops the master instead, with one line on stderr
and exit status 1. ``--debug`` adds the traceback.
"""

import gc
import logging as std_logging
import os
import sys
import traceback

from gunicorn.app.base import BaseApplication
from gunicorn.errors import AppImportError
from oslo_config import cfg
from oslo_log import log as logging

from glance import secrets
from glance.api import app as glance_app
from glance.api import preflight
from glance.cmd import http_worker
from glance.conf import validate
from glance.db.sqlalchemy import engine as db_engine
from glance.services import upload_recovery

CONF = cfg.CONF
LOG = logging.getLogger(__name__)
MAX_DEFAULT_WORKERS = 8


def worker_count() -> int:
    """``[DEFAULT] workers``, or one per CPU core (at most 8) when unset or 0."""
    if CONF.workers:
        return CONF.workers
    return max(1, min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS))


class GlanceServer(BaseApplication):
    """gunicorn application whose settings come from oslo.config."""

    def load_config(self) -> None:
        host = CONF.bind_host
        bind = f"[{host}]:{CONF.bind_port}" if ":" in host else f"{host}:{CONF.bind_port}"
        settings = {
            "bind": [bind],
            "workers": worker_count(),
            "worker_class": "glance.cmd.http_worker.GlanceThreadWorker",
            "threads": CONF.threads_per_worker,
            "timeout": max(CONF.client_socket_timeout, 30),
            "graceful_timeout": 30,
            # Also how long a new connection may stay silent before it is closed.
            "keepalive": min(30, CONF.header_read_timeout),
            "backlog": CONF.backlog,
            "proc_name": "glance-api",
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "info",
            "limit_request_line": 8190,
            "limit_request_fields": 100,
            "limit_request_field_size": 16384,
            "preload_app": False,
            "control_socket_disable": True,
            "child_exit": _worker_exited,
        }
        for key, value in settings.items():
            self.cfg.set(key, value)
        http_worker.configure(CONF.header_read_timeout, CONF.client_socket_timeout)

    def load(self):
        # Each worker builds its own app (and database engine) after the fork.
        try:
            application = glance_app.init_app(prepare=False)
        except Exception as err:
            # The master's trial build passed, so this is rare (a store that went
            # away since): gunicorn prints an AppImportError as one line and stops.
            if _debug():
                traceback.print_exc()
            raise AppImportError(f"ERROR: {err}") from err
        # What the worker built lives as long as it does: keep it out of the
        # collector's passes too (see freeze_before_fork). No gc.collect() here: a
        # full pass writes to every object the master left, unsharing its pages.
        gc.freeze()
        return application


def recover_uploads(dead_pids: set[int] | None = None) -> None:
    """Reset uploads a dead process left in ``saving`` (runs in the master)."""
    try:
        upload_recovery.recover(dead_pids)
    except Exception:  # noqa: BLE001 - never take the server down for this
        LOG.exception("Could not check for interrupted uploads")
    finally:
        db_engine.dispose()  # no connection may be inherited by the next fork


def _worker_exited(_server, worker) -> None:
    recover_uploads({worker.pid})


def _debug(args: list[str] | None = None) -> bool:
    """``--debug`` (from the files or the command line, even when they failed to load)."""
    try:
        return bool(CONF.debug)
    except cfg.Error:
        return bool(args) and ("--debug" in args or "-d" in args)


def trial_build() -> None:
    """Build the application once in a forked child, as every worker will after
    gunicorn forks it; ConfigError (the child's one line) when that fails.

    The child sets up the stores and loads the paste application with the
    master's configuration, then exits without serving; nothing it builds is
    left in the master (stores and drivers may hold connections that must not
    be shared across a fork). It logs nothing below CRITICAL: what it would log
    (a database that does not answer yet, say, which is no reason to stop) each
    worker logs again, and a failure comes back through the pipe.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, never return
        status = 1
        try:
            os.close(read_end)
            std_logging.disable(std_logging.ERROR)
            glance_app.build_app()
            status = 0
        except BaseException as err:  # noqa: BLE001 - every failure is reported
            if _debug():
                traceback.print_exc()
            text = str(err) if isinstance(err, validate.ConfigError) else (
                f"cannot build the application: {type(err).__name__}: {err}")
            os.write(write_end, validate.one_line(text).encode()[:4096])
        finally:
            sys.stderr.flush()
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        message = pipe.read().decode("utf-8", "replace")
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise validate.ConfigError(message or f"building the application failed "
                                   f"(exit status {code})")


def freeze_before_fork() -> None:
    """Move everything the master built into the collector's permanent generation
    before gunicorn forks the workers.

    The workers then share the master's heap (the imported modules, the
    configuration) copy-on-write: no garbage-collector pass in a worker walks
    those objects, and a pass writes to the header of every object it walks, which
    copied each page into every worker (about 70 MiB each).
    """
    gc.collect()
    gc.freeze()


def _fail(err: BaseException, args: list[str], text: str) -> int:
    if _debug(args):
        traceback.print_exception(err)
    print(f"ERROR: {text}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``glance-api`` console script."""
    args = sys.argv[1:] if argv is None else argv
    try:
        glance_app.start_up(args)
        glance_app.check_serving()
    except validate.ConfigError as err:
        return _fail(err, args, str(err))
    secrets.install()
    try:
        glance_app.prepare_state()
    except Exception as err:  # noqa: BLE001 - report, don't trace back
        return _fail(err, args, f"cannot prepare the database: {err}")
    try:
        trial_build()
        preflight.check_listen(CONF.bind_host, CONF.bind_port)
    except validate.ConfigError as err:
        return _fail(err, args, str(err))
    recover_uploads()
    LOG.info("glance-api listening on %s:%s with %d workers", CONF.bind_host,
             CONF.bind_port, worker_count())
    freeze_before_fork()
    GlanceServer().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

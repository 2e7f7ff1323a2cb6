"""``glance-api``: the standalone multi-process server (gunicorn, threaded workers).

Usage: ``glance-api [--config-file FILE ...] [--debug]``. Listens on
``[DEFAULT] bind_host``:``bind_port`` with ``workers`` processes of
``threads_per_worker`` threads each.

Before gunicorn starts, the master checks the configuration
(glance/api/app.py, glance/api/preflight.py), prepares the state and builds the
application, which every worker then serves (forked from the master, sharing its
memory copy-on-write): a configuration that cannot be built stops the master,
with one line on stderr and exit status 1. ``--debug`` adds the traceback.
"""

import ctypes
import gc
import os
import sys
import traceback

from gunicorn.app.base import BaseApplication
from oslo_config import cfg
from oslo_log import log as logging

from glance import secrets
from glance.api import app as glance_app
from glance.api import preflight
from glance.api.v2 import router as v2_router
from glance.cmd import http_worker
from glance.conf import validate
from glance.db.sqlalchemy import engine as db_engine
from glance.services import registry, upload_recovery

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

    def __init__(self, application) -> None:
        self.application = application
        super().__init__()

    def load(self):
        # The master built the application (build_in_master): the worker serves it.
        return self.application


def recover_uploads(dead_pids: set[int] | None = None) -> None:
    """Reset uploads a dead process left in ``saving`` (runs in the master)."""
    try:
        upload_recovery.recover(dead_pids)
    except Exception:  # noqa: BLE001 - never take the server down for this
        LOG.exception("Could not check for interrupted uploads")
    finally:
        db_engine.dispose()  # no connection may be inherited by the next fork


def _worker_exited(_server, worker) -> None:
    # The workers do not build the application, which fails the tasks a dead
    # process left: the master does, at start-up and when a worker dies.
    v2_router.recover_interrupted_tasks(registry.services())
    recover_uploads({worker.pid})


def _debug(args: list[str] | None = None) -> bool:
    """``--debug`` (from the files or the command line, even when they failed to load)."""
    try:
        return bool(CONF.debug)
    except cfg.Error:
        return bool(args) and ("--debug" in args or "-d" in args)


def build_in_master():
    """Set up the stores and build the application in the master, once, before
    gunicorn forks the workers; ConfigError (one line) when that fails.

    Every worker serves this application: nothing is built again after the
    fork, so the pages the build wrote stay shared copy-on-write (a worker that
    built its own copied about 20 MiB of the master's heap just by running the
    build). What must not cross a fork is made per process, on first use, by its
    owner: the database engine's pool is disposed here (each worker opens its
    own connections); the threads the v2 router starts (the cache prefetcher,
    the peer-upload watcher) are deferred to each worker, and the master fails
    the tasks a dead worker left (``_worker_exited``);
    task pools, notifier transports and S3/Swift clients check ``os.getpid()``
    or reset themselves after a fork.
    """
    v2_router.defer_process_jobs()  # each worker starts them (http_worker)
    try:
        application = glance_app.build_app()
    except validate.ConfigError:
        raise
    except Exception as err:  # noqa: BLE001 - every failure is one line
        raise validate.ConfigError(validate.one_line(
            f"cannot build the application: {type(err).__name__}: {err}")) from err
    finally:
        db_engine.dispose()
    return application


MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt() parameter


def limit_malloc_arenas() -> None:
    """At most ``MALLOC_ARENAS`` glibc malloc arenas per process (the workers inherit
    the setting), unless ``MALLOC_ARENA_MAX`` is set in the environment.

    glibc gives each thread that allocates at the same time as another an arena
    of its own, up to 8 per core, and keeps what was freed in each for reuse: a
    worker's threads serving large lists held 10-15 MiB more than with two
    arenas. Python's own small-object allocator is not affected. No-op on
    another C library.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_ARENA_MAX, MALLOC_ARENAS)
    except (OSError, AttributeError):  # not glibc
        pass


def freeze_before_fork() -> None:
    """Move everything the master built into the collector's permanent generation
    before gunicorn forks the workers.

    The workers then share the master's heap (the imported modules, the
    configuration, the application) copy-on-write: no garbage-collector pass in
    a worker walks those objects, and a pass writes to the header of every object
    it walks, which copied each page into every worker (about 70 MiB each).
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
        application = build_in_master()
        preflight.check_listen(CONF.bind_host, CONF.bind_port)
    except validate.ConfigError as err:
        return _fail(err, args, str(err))
    recover_uploads()
    LOG.info("glance-api listening on %s:%s with %d workers", CONF.bind_host,
             CONF.bind_port, worker_count())
    limit_malloc_arenas()
    freeze_before_fork()
    GlanceServer(application).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

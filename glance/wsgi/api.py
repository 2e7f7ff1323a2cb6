"""WSGI entry point for Apache mod_wsgi and uwsgi: ``glance.wsgi.api:application``.

Config files come from ``$OS_GLANCE_CONFIG_FILE``, else
``$OS_GLANCE_CONFIG_DIR/glance-api.conf``, else ``/etc/glance/glance-api.conf``.
The application is built once per process, when this module is imported. Each
process that serves it also checks now and then for uploads a killed process
left in ``saving`` (``glance.services.upload_recovery``).

A configuration glance cannot serve with makes the import fail with one line
(``ConfigError: ...``) in the server's error log instead of a traceback: the
server then loads no application, rather than one that fails its requests.
"""

import sys

from glance.api import app as _app
from glance.conf import validate as _validate
from glance.services import upload_recovery as _upload_recovery

if getattr(sys, "tracebacklimit", None) == 0:  # left by a failed earlier import
    del sys.tracebacklimit

try:
    application = _upload_recovery.watching(_app.init_app())
except _validate.ConfigError as _err:
    # The server prints the failed import: with Python's own hook (not oslo.log's,
    # which logs a traceback), no frames and no chained cause, that is the one line
    # (with [DEFAULT] debug, the whole traceback).
    sys.excepthook = sys.__excepthook__
    if not _app.CONF.debug:
        sys.tracebacklimit = 0
        _err.__cause__ = None
        _err.__suppress_context__ = True
    raise

"""The last-resort error catcher: an exception no layer below handled is a 500 in
our error format (``glance.api.faults``), never WebOb's HTML page.

oslo.middleware's ``CatchErrors`` answers with ``webob.exc.HTTPInternalServerError``,
which renders HTML for a client that accepts ``*/*`` or ``text/html`` (curl and
most libraries do). This filter does the same job with the JSON or plain-text body
every other error of ours has. The traceback goes to the log only.
"""

from collections.abc import Callable, Iterable

import webob
from oslo_log import log as logging

from glance.api import faults
from glance.api.middleware.base import WSGIApp

LOG = logging.getLogger(__name__)


class CatchErrors:
    """Answer 500 (JSON or text, no traceback) when the application raises."""

    def __init__(self, application: WSGIApp) -> None:
        self.application = application

    @classmethod
    def factory(cls, global_conf: dict | None = None, **local_conf: str):
        """paste.deploy filter factory."""
        return cls

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        try:
            return self.application(environ, start_response)
        except Exception:  # noqa: BLE001 - the last resort: log it, answer 500
            LOG.exception("An error reached the last-resort handler")
            response = faults.error_response(webob.Request(environ), 500,
                                              faults.INTERNAL_MESSAGE)
            return response(environ, start_response)

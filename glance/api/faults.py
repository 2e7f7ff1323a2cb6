"""The one place where exceptions become HTTP error responses.

Bodies follow Glance's shape: ``{"message", "code", "title"}`` as JSON for clients
that accept JSON, a short plain-text page otherwise. Messages are plain text (no
HTML), and a 500 never carries a traceback.
"""

import json
from collections.abc import Callable
from typing import Any

import webob
import webob.exc
from oslo_db import exception as db_exc
from oslo_log import log as logging
from sqlalchemy import exc as sa_exc

from glance import exception, secrets
from glance.db import errors as db_errors

LOG = logging.getLogger(__name__)

INTERNAL_MESSAGE = "The server has either erred or is incapable of performing the " \
                   "requested operation."


def _status_title(code: int) -> str:
    return webob.exc.status_map[code].title if code in webob.exc.status_map else "Error"


def wants_json(request: webob.Request) -> bool:
    """Whether the client asked for JSON error bodies."""
    accept = request.headers.get("Accept", "")
    return "json" in accept


def status_line(code: int) -> str:
    """``"404 Not Found"``: the code and its reason phrase."""
    return f"{code} {_status_title(code)}"


def json_error_body(code: int, message: str) -> bytes:
    """The JSON error document: ``{"message", "code", "title"}``."""
    return json.dumps({"message": secrets.mask(message), "code": status_line(code),
                       "title": _status_title(code)}).encode()


def error_response(request: webob.Request, code: int, message: str,
                   headers: dict[str, str] | None = None) -> webob.Response:
    """Render an error with ``code`` and a clean ``message``."""
    message = secrets.mask(message)
    status = status_line(code)
    response = webob.Response(status=status)
    if wants_json(request):
        response.content_type = "application/json"
        response.charset = None
        response.body = json_error_body(code, message)
    else:
        response.content_type = "text/plain"
        response.charset = "UTF-8"
        response.text = f"{status}\n\n{message}\n"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _from_glance(request: webob.Request, err: exception.GlanceException) -> webob.Response:
    """Our own errors carry their status, message and headers."""
    if err.code >= 500:
        LOG.error("Request failed: %s", err)
    return error_response(request, err.code, str(err), dict(err.headers))


def _from_http_exception(request: webob.Request,
                         err: webob.exc.HTTPException) -> webob.Response:
    """A webob HTTP error keeps its status and the headers that belong to it."""
    headers = {name: value for name, value in err.headers.items()
               if name.lower() in ("allow", "location", "accept-patch",
                                   "retry-after", "www-authenticate", "content-range")}
    message = err.detail or err.explanation or err.title
    return error_response(request, err.code, message, headers)


def _from_value_error(request: webob.Request, err: BaseException) -> webob.Response:
    """The database refused a value (out of range, too long): the client's fault."""
    LOG.info("Value refused by the database: %s", err)
    return error_response(request, 400, "A value is out of range or too long for "
                          "its field.")


def _from_database_error(request: webob.Request, err: BaseException) -> webob.Response:
    """503 or 400 for what glance/db/errors.py recognises (also through ``__cause__``),
    else a 500 with its traceback in the log."""
    failure = db_errors.classify(err)
    if failure is db_errors.Failure.UNAVAILABLE:
        LOG.error("Database unavailable: %s", err)
        return error_response(request, 503, "The database is unavailable; try again "
                              "shortly.", {"Retry-After": "5"})
    if failure is db_errors.Failure.TOO_COMPLEX:
        LOG.warning("Statement refused by the database for %s %s: %s", request.method,
                    request.path, err)
        return error_response(request, 400, "The request is too complex for the "
                              "database to run; send fewer filters or values.")
    LOG.exception("Unexpected error while handling %s %s", request.method, request.path)
    return error_response(request, 500, INTERNAL_MESSAGE)


def _from_oslo_db_error(request: webob.Request, err: db_exc.DBError) -> webob.Response:
    """oslo.db wraps a driver's OverflowError (an integer too large) in a bare DBError."""
    if isinstance(getattr(err, "inner_exception", None), OverflowError):
        return _from_value_error(request, err)
    return _from_database_error(request, err)


Handler = Callable[[webob.Request, Any], webob.Response]

# The one table: exception class -> handler, looked up along ``type(err).__mro__`` so
# the most specific class wins. Our own errors are one entry (each class carries its
# ``code``); the other libraries' errors that reach the fault layer are listed by class.
# glance_store and jsonschema errors have no row: glance/store.py and glance/schema.py
# turn them into glance exceptions where they are raised. Every MRO ends in
# BaseException, the catch-all: a
# database error may still hide behind it as ``__cause__``, else it is a 500.
HANDLERS: dict[type[BaseException], Handler] = {
    exception.GlanceException: _from_glance,
    webob.exc.HTTPException: _from_http_exception,
    db_exc.DBDataError: _from_value_error,
    db_exc.DBError: _from_oslo_db_error,
    sa_exc.SQLAlchemyError: _from_database_error,
    BaseException: _from_database_error,
}


def handler_for(err: BaseException) -> Handler:
    """The handler of the most specific class of ``err`` found in ``HANDLERS``."""
    return next(HANDLERS[cls] for cls in type(err).__mro__ if cls in HANDLERS)


def from_exception(request: webob.Request, err: BaseException) -> webob.Response:
    """Map any exception to its response through ``HANDLERS``: glance errors by their
    ``code``; database errors by what they mean (glance/db/errors.py: 503, 400);
    anything else 500."""
    return handler_for(err)(request, err)

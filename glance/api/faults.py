"""The one place where exceptions become HTTP error responses.

Bodies follow Glance's shape: ``{"message", "code", "title"}`` as JSON for clients
that accept JSON, a short plain-text page otherwise. Messages are plain text (no
HTML), and a 500 never carries a traceback.
"""

import json

import webob
import webob.exc
from oslo_db import exception as db_exc
from oslo_log import log as logging

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


def _message_of_http_exception(err: webob.exc.HTTPException) -> str:
    return err.detail or err.explanation or err.title


def from_exception(request: webob.Request, err: BaseException) -> webob.Response:
    """Map any exception to its response: glance errors by ``code``; database errors
    by what they mean (glance/db/errors.py: 503, 400); anything else 500."""
    if isinstance(err, exception.GlanceException):
        if err.code >= 500:
            LOG.error("Request failed: %s", err)
        return error_response(request, err.code, str(err), dict(err.headers))
    if isinstance(err, webob.exc.HTTPException):
        headers = {name: value for name, value in err.headers.items()
                   if name.lower() in ("allow", "location", "accept-patch",
                                       "retry-after", "www-authenticate", "content-range")}
        return error_response(request, err.code, _message_of_http_exception(err), headers)
    if isinstance(err, db_exc.DBDataError) or (
            isinstance(err, db_exc.DBError)
            and isinstance(getattr(err, "inner_exception", None), OverflowError)):
        LOG.info("Value refused by the database: %s", err)
        return error_response(request, 400, "A value is out of range or too long for "
                              "its field.")
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

"""Answers to requests gunicorn's HTTP parser refuses before the application runs.

gunicorn renders those as small HTML pages (``Worker.handle_error``); every other
error of ours is a JSON document (``glance.api.faults``). ``describe`` maps the
parser's exception to a status and a message of our own, walking the exception's
classes over one table, and ``render`` writes the whole response: JSON body,
``Content-Type: application/json``, ``Connection: close``. Messages never echo
the request's bytes, only a header name when it is a plain token.
"""

import re
import ssl

from gunicorn.http import errors

from glance.api import faults

INTERNAL = faults.INTERNAL_MESSAGE
CHUNKED = "The chunked framing of the request body is not valid HTTP/1.1."
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}")

# gunicorn exception name -> (status, message), looked up along the exception's
# classes (names, so that a gunicorn without some of them still loads this table).
_BY_NAME: dict[str, tuple[int, str]] = {
    "ParseException": (400, "The request is not valid HTTP/1.1."),
    "InvalidRequestLine": (400, "The request line is not valid HTTP/1.1."),
    "InvalidRequestMethod": (400, "The request method is not a valid HTTP token."),
    "InvalidHTTPVersion": (400, "The HTTP version of the request is not valid."),
    "InvalidHeader": (400, "A request header field is not valid."),
    "InvalidHeaderName": (400, "A request header field name is not valid."),
    "ObsoleteFolding": (400, "Request header fields must not be folded over lines."),
    "InvalidSchemeHeaders": (400, "The request's forwarded-scheme headers disagree."),
    "InvalidProxyLine": (400, "The PROXY protocol line is not valid."),
    "InvalidProxyHeader": (400, "The PROXY protocol header is not valid."),
    "InvalidH2CPreface": (400, "The HTTP/2 connection preface is not valid."),
    "InvalidChunkSize": (400, CHUNKED),
    "ChunkMissingTerminator": (400, CHUNKED),
    "InvalidChunkExtension": (400, CHUNKED),
    "ForbiddenProxyRequest": (403, "Requests through this proxy are not allowed."),
    "LimitRequestLine": (414, "The request line is longer than the server accepts."),
    "ExpectationFailed": (417, "The only expectation supported is '100-continue'."),
    "LimitRequestHeaders": (431, "The request has too many header fields, or one that "
                                 "is too large."),
    "UnsupportedTransferCoding": (501, "The only transfer coding supported for a request "
                                       "body is 'chunked'."),
    "ConfigurationProblem": (500, INTERNAL),
    "InvalidResponseHeader": (500, INTERNAL),  # the application's fault, not the client's
    "InvalidResponseHeaderName": (500, INTERNAL),
}
ERRORS: dict[type[BaseException], tuple[int, str]] = {
    getattr(errors, name): answer for name, answer in _BY_NAME.items()
    if hasattr(errors, name)}
ERRORS[ssl.SSLError] = (400, "The TLS connection failed.")
HEADER_MESSAGE = "The request header field {name} is not valid here."


def describe(err: BaseException) -> tuple[int, str]:
    """The status and message for ``err``; 500 for anything not in ``ERRORS``."""
    found = next((ERRORS[cls] for cls in type(err).__mro__ if cls in ERRORS), None)
    if found is None:
        return 500, INTERNAL
    status, message = found
    if isinstance(err, errors.InvalidHTTPVersion) and isinstance(err.version, tuple):
        return 505, f"HTTP/{err.version[0]}.{err.version[1]} is not supported."
    if isinstance(err, errors.LimitRequestLine) and isinstance(err.max_size, int):
        return status, f"The request line is longer than {err.max_size} bytes."
    if type(err) is errors.InvalidHeader and isinstance(err.hdr, str) \
            and _TOKEN.fullmatch(err.hdr):
        return status, HEADER_MESSAGE.format(name=err.hdr.title())
    return status, message


def render(status: int, message: str) -> bytes:
    """The complete HTTP/1.1 response for an error: JSON, then the connection closes."""
    body = faults.json_error_body(status, message)
    head = (f"HTTP/1.1 {faults.status_line(status)}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n")
    return head.encode("latin-1") + body

"""WSGI plumbing shared by every resource: request body reading, the
deserialize -> controller -> serialize triple, and a declarative router that
answers 404 and 405 (with ``Allow``) by itself."""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import routes
import webob
import webob.dec
from gunicorn.http import errors as gunicorn_errors
from oslo_config import cfg

from glance import exception
from glance.api import faults

CONF = cfg.CONF
CHUNK_SIZE = 64 * 1024
MAX_JSON_DEPTH = 32
_INT64 = 2 ** 63


# Set by glance-api's worker (glance.cmd.http_worker): ``environ[LIMIT_BODY](n)`` makes
# the server refuse, as soon as it reads a chunk's size line, a chunked body that
# declares more than ``n`` bytes in all. Other servers leave it out.
LIMIT_BODY = "glance.limit_body"


def check_json_document(document: Any) -> None:
    """400 for JSON a backend cannot take: too deep, huge integers, NUL or lone
    surrogates in strings (one iterative walk, no recursion)."""
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            items = list(value.items())
            stack.extend((k, depth) for k, _ in items)
            stack.extend((v, depth + 1) for _, v in items)
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
        elif isinstance(value, str):
            if "\0" in value:
                raise exception.BadRequest("JSON strings must not contain NUL characters.")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as err:
                raise exception.BadRequest(
                    "JSON strings must be valid Unicode (no lone surrogates).") from err
        elif isinstance(value, int) and not isinstance(value, bool) and \
                not -_INT64 <= value < _INT64:
            raise exception.BadRequest("A number in the request body is out of range.")
        if depth > MAX_JSON_DEPTH:
            raise exception.BadRequest(
                f"The request body is nested deeper than {MAX_JSON_DEPTH} levels.")


class Request(webob.Request):
    """A WebOb request that knows its caller and can stream its body."""

    @property
    def context(self):
        return self.environ["glance.context"]

    def has_body(self) -> bool:
        if self.content_length:
            return True
        return "chunked" in self.headers.get("Transfer-Encoding", "").lower()

    def iter_body(self, chunk_size: int = CHUNK_SIZE, limit: int | None = None,
                  too_large: type[exception.GlanceException] | None = None
                  ) -> Iterator[bytes]:
        """Yield the body in chunks, with or without Content-Length.

        Without a Content-Length (chunked transfer) the server has already
        removed the chunk framing; we read ``wsgi.input`` until it is empty,
        which is what mod_wsgi (WSGIChunkedRequest On) and gunicorn need. uwsgi
        leaves ``wsgi.input`` empty for chunked requests; its own
        ``uwsgi.chunked_read()`` yields the de-chunked pieces instead.

        This is the one place where reading the body fails: bad chunk framing is
        a 400 (``exception.BadChunkedBody``), a chunk that would take the body past
        ``limit`` bytes a 413 (``too_large``, by default ``exception.BodyTooLarge``, raised
        as soon as our gunicorn worker reads that chunk's size), a stalled client
        a 408.
        """
        remaining = self.content_length
        stream = self._body_stream(chunk_size, limit)
        while remaining is None or remaining > 0:
            size = chunk_size if remaining is None else min(chunk_size, remaining)
            chunk = _read_chunk(stream, size, too_large)
            if not chunk:
                if remaining:
                    raise exception.BadRequest(
                        "The request body is shorter than its Content-Length.")
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk

    def _body_stream(self, chunk_size: int, limit: int | None):
        """What to read the body from: ``wsgi.input``, uwsgi's chunked reader or
        gunicorn's socket directly; tells our gunicorn worker the ``limit`` of a
        chunked body."""
        remaining = self.content_length
        if limit is not None and remaining is None:
            limit_body = self.environ.get(LIMIT_BODY)
            if limit_body is not None:
                limit_body(limit)
        if remaining is None and "uwsgi.version" in self.environ and self.has_body():
            return _UwsgiChunkedInput()
        if remaining and remaining > chunk_size:
            direct = _GunicornDirectInput.wrap(self.environ, remaining)
            if direct is not None:
                return direct
        return self.environ["wsgi.input"]

    def read_body(self, limit: int) -> bytes:
        """The whole (small) body; 413 when over ``limit`` bytes."""
        if self.content_length is not None and self.content_length > limit:
            raise exception.BodyTooLarge(limit=limit)
        data = bytearray()
        for chunk in self.iter_body(limit=limit):
            data += chunk
            if len(data) > limit:
                raise exception.BodyTooLarge(limit=limit)
        return bytes(data)

    def json_object(self) -> dict[str, Any]:
        """The body parsed as a JSON object (400 when it is not one)."""
        body = self.json_body()
        if not isinstance(body, dict):
            raise exception.BadRequest("The request body must be a JSON object.")
        return body

    def json_body(self) -> Any:
        """The body parsed as JSON (400 when it is not JSON)."""
        raw = self.read_body(CONF.max_json_body_size)
        try:
            document = json.loads(raw)
        except (ValueError, RecursionError) as err:
            raise exception.MalformedJSON() from err
        check_json_document(document)
        return document


_FRAMING_REASONS = {  # gunicorn's error class names (not all exist in every version)
    "InvalidChunkSize": "a chunk size line is not a hexadecimal number, or is too long",
    "ChunkMissingTerminator": "a chunk does not end with CRLF",
    "InvalidChunkExtension": "a chunk extension is malformed",
    "LimitRequestHeaders": "the trailer section is too large",
}


def _framing_reason(err: Exception) -> str:
    """A short, printable account of a server's framing error (no request bytes)."""
    for cls in type(err).__mro__:
        if cls.__name__ in _FRAMING_REASONS:
            return _FRAMING_REASONS[cls.__name__]
    return "the chunks or trailers are malformed"


def _read_chunk(stream, size: int,
                too_large: type[exception.GlanceException] | None) -> bytes:
    """One ``stream.read(size)``, its failures as glance exceptions."""
    try:
        return stream.read(size)
    except exception.BodyTooLarge as err:
        if too_large is None:
            raise
        raise too_large() from err
    except exception.GlanceException:
        raise
    except TimeoutError as err:
        raise exception.RequestTimeout() from err
    except OSError as err:
        raise exception.BodyReadError() from err
    except gunicorn_errors.ParseException as err:
        raise exception.BadChunkedBody(reason=_framing_reason(err)) from err


class _GunicornDirectInput:
    """``read(n)`` of a Content-Length body straight from gunicorn's socket.

    gunicorn's ``wsgi.input`` copies every byte five or six times on its way
    through two BytesIO buffers (about a quarter of the CPU time of an upload,
    besides hashing). This reader takes what gunicorn has already buffered, then
    ``recv()``s the rest itself, keeping gunicorn's count of unread body bytes
    right so that keep-alive and its end-of-request draining work unchanged.
    Used only when gunicorn's reader has exactly the expected shape; anything
    else (another server, another gunicorn layout) reads ``wsgi.input``.
    """

    def __init__(self, sock, length_reader, buffered: bytes) -> None:
        self._sock = sock
        self._reader = length_reader
        self._buffered = buffered

    @classmethod
    def wrap(cls, environ: dict, length: int) -> "_GunicornDirectInput | None":
        sock = environ.get("gunicorn.socket")
        body = environ.get("wsgi.input")
        reader = getattr(body, "reader", None)
        unreader = getattr(reader, "unreader", None)
        body_buffer = getattr(body, "buf", None)
        if (sock is None or type(reader).__name__ != "LengthReader"
                or getattr(reader, "length", None) != length
                or not hasattr(unreader, "take_buffered") or not hasattr(unreader, "unread")
                or body_buffer is None or body_buffer.tell() != 0):
            return None
        buffered = unreader.take_buffered()
        if len(buffered) > length:  # a pipelined next request: give it back
            unreader.unread(buffered[length:])
            buffered = buffered[:length]
        return cls(sock, reader, buffered)

    def read(self, size: int) -> bytes:
        size = min(size, self._reader.length)
        if size <= 0:
            return b""
        if self._buffered:
            data, self._buffered = self._buffered[:size], self._buffered[size:]
        else:
            data = self._sock.recv(size)
        self._reader.length -= len(data)
        return data


class _UwsgiChunkedInput:
    """A ``read()`` over uwsgi's chunked-body API (one client chunk per call).

    uwsgi raises the same ``IOError`` for bad framing, a timeout and a client
    that went away, so the error says so.
    """

    def read(self, size: int = -1) -> bytes:
        import uwsgi  # only importable inside a uwsgi worker

        try:
            return uwsgi.chunked_read()
        except OSError as err:
            raise exception.UwsgiChunkedReadError() from err


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_json(value: Any) -> bytes:
    """Serialize a response document."""
    return json.dumps(value, default=_json_default).encode()


def json_response(response: webob.Response, document: Any, status: int = 200) -> None:
    """Fill ``response`` with a JSON document."""
    response.status_int = status
    response.content_type = "application/json"
    response.charset = None
    response.body = to_json(document)


def _path_text(value: Any) -> Any:
    """A path segment as text. WSGI hands PATH_INFO over as latin-1-decoded bytes;
    the version negotiation filter has already refused paths that are not UTF-8."""
    if not isinstance(value, str):
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


class Resource:
    """Runs one request through deserializer -> controller -> serializer.

    The deserializer's method for the action returns the controller's keyword
    arguments; the controller returns domain objects; the serializer's method
    renders them into the response. Any exception goes to the fault layer.
    """

    def __init__(self, controller: Any, deserializer: Any = None, serializer: Any = None):
        self.controller = controller
        self.deserializer = deserializer
        self.serializer = serializer

    @webob.dec.wsgify(RequestClass=Request)
    def __call__(self, request: Request) -> webob.Response:
        args = {name: _path_text(value) for name, value in request.urlvars.items()}
        action = args.pop("action")
        args.pop("controller", None)
        try:
            parse = getattr(self.deserializer, action, None)
            if parse is not None:
                args.update(parse(request))
            result = getattr(self.controller, action)(request, **args)
            response = webob.Response(request=request)
            render = getattr(self.serializer, action, None)
            if render is not None:
                render(response, result)
            elif result is None:
                response.status_int = 204
            else:
                json_response(response, result)
            if response.status_int == 204:
                del response.content_type  # no body, so no media type
            return response
        except Exception as err:  # noqa: BLE001 - the fault layer decides
            return faults.from_exception(request, err)


@dataclass
class Route:
    """A path and the controller action each HTTP method calls on it."""

    path: str
    resource: Callable
    methods: dict[str, str] = field(default_factory=dict)
    requirements: dict[str, str] = field(default_factory=dict)


class Router:
    """Dispatches by a route table; unknown paths get 404, other methods 405 + Allow."""

    def __init__(self, route_table: list[Route]) -> None:
        self.mapper = routes.Mapper()
        for route in route_table:
            for method, action in route.methods.items():
                self.mapper.connect(route.path, controller=route.resource, action=action,
                                    conditions={"method": [method]},
                                    requirements=route.requirements)
            allowed = ", ".join(route.methods)
            self.mapper.connect(route.path, controller=None, action="reject",
                                allowed=allowed, requirements=route.requirements)

    @webob.dec.wsgify(RequestClass=Request)
    def __call__(self, request: Request):
        match = self.mapper.match(environ=request.environ)
        if match is None:
            return faults.error_response(request, 404, "The resource could not be found.")
        if match["action"] == "reject":
            return faults.error_response(
                request, 405, f"The method {request.method} is not allowed for this "
                f"resource.", {"Allow": match["allowed"]})
        controller = match["controller"]
        request.environ["wsgiorg.routing_args"] = ((), match)
        return request.get_response(controller)

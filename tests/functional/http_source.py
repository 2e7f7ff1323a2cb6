"""A small HTTP server on 127.0.0.1 that web-download, import tasks, http-store
locations and the image cache fetch from.

It serves the given files (``{path: bytes}``, default ``/data`` -> DATA) to GET and
HEAD; ``/redirect?to=<url>`` answers 302 to ``to`` (``/`` without one); anything else
is 404. The query string never matters for a file. GET requests are counted per path.
"""

import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

DATA = bytes(range(256)) * 64 + b"web-download"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *_args) -> None:
        pass

    def _answer(self, with_body: bool) -> None:
        parts = urlsplit(self.path)
        if with_body:
            self.server.hits[parts.path] += 1
        data = self.server.files.get(parts.path)
        if data is not None:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if with_body:
                self.wfile.write(data)
            return
        if parts.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", parse_qs(parts.query).get("to", ["/"])[0])
        else:
            self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's name
        self._answer(with_body=False)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._answer(with_body=True)


class HTTPSource:
    """Serve in a thread: ``with HTTPSource() as source: source.url('/data')``."""

    def __init__(self, files: dict[str, bytes] | None = None) -> None:
        self.files = {"/data": DATA} if files is None else files

    def __enter__(self) -> "HTTPSource":
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.hits = Counter()
        self.httpd.files = self.files
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def hits(self) -> Counter:
        return self.httpd.hits

    def __exit__(self, *_exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

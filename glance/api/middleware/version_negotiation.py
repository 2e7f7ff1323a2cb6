"""Chooses the API version of a request and rewrites PATH_INFO to ``/v2/...``.

``/`` answers 300 with the versions document and ``/versions`` 200. A path that
starts with a supported version (``/v2``, ``/v2.0`` ... ``/v2.18``; v2.14 and
v2.16, the image cache versions, only with ``image_cache_dir`` set) goes on as
``/v2/...``; any other version prefix answers 300. A path without a version
may name one in ``Accept: application/vnd.openstack.images-v2[.N]``.
"""

import re

import webob

from glance.api import faults, versions
from glance.api.middleware import base

# DOTALL and \Z: a path segment may hold a (percent-encoded) newline.
_PATH_VERSION = re.compile(r"^/v([0-9]+)(?:\.([0-9]+))?(/.*)?\Z", re.DOTALL)
_ACCEPT_VERSION = re.compile(r"application/vnd\.openstack\.images-v(\d+)(?:\.(\d+))?")


def _supported(major: str, minor: str | None) -> bool:
    if minor is None:
        return any(m == int(major) for m, _ in versions.supported())
    return (int(major), int(minor)) in versions.supported()


class VersionNegotiationFilter(base.RequestFilter):
    """Routes a request to the API version it asked for."""

    def process_request(self, request: webob.Request):
        try:
            path = request.path_info
        except UnicodeDecodeError:
            return faults.error_response(request, 400,
                                         "The request path is not valid UTF-8.")
        try:
            request.GET  # noqa: B018 - decodes the query string once, here
        except UnicodeDecodeError:
            return faults.error_response(request, 400,
                                         "The query string is not valid UTF-8.")
        if path in ("", "/"):
            return versions.versions_response(request, 300)
        if path in ("/versions", "/versions/"):
            return versions.versions_response(request, 200)
        match = _PATH_VERSION.match(path)
        if match:
            major, minor, rest = match.groups()
            if not _supported(major, minor):
                return versions.versions_response(request, 300)
            if rest is None:
                response = webob.Response(status=302, content_type="text/plain")
                response.location = request.application_url + "/v2/"
                return response
            request.path_info = "/v2" + rest
            return None
        accept = _ACCEPT_VERSION.search(request.headers.get("Accept", ""))
        if accept and _supported(*accept.groups()):
            request.path_info = "/v2" + path
            return None
        return versions.versions_response(request, 300)

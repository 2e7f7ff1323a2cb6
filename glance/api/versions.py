"""The versions document served at ``/`` (300) and ``/versions`` (200)."""

import json

import webob
import webob.dec
from oslo_config import cfg

CONF = cfg.CONF

CURRENT = (2, 18)
# Every v2 minor version the API answers to, newest first.
SUPPORTED = tuple((2, minor) for minor in range(CURRENT[1], -1, -1))
# The versions that brought the image cache API: like Glance, only offered when
# this node has an image cache ([DEFAULT] image_cache_dir).
CACHE_VERSIONS = ((2, 14), (2, 16))


def supported() -> tuple[tuple[int, int], ...]:
    """The versions offered with the current configuration, newest first."""
    if CONF.image_cache_dir:
        return SUPPORTED
    return tuple(v for v in SUPPORTED if v not in CACHE_VERSIONS)


def version_ids() -> list[str]:
    """``vMAJOR.MINOR`` of every offered version, newest first."""
    return [f"v{major}.{minor}" for major, minor in supported()]


def _base_url(request: webob.Request) -> str:
    if CONF.public_endpoint:
        return CONF.public_endpoint.rstrip("/")
    return request.application_url.rstrip("/")


def versions_document(request: webob.Request) -> dict:
    """Every supported version, the newest marked CURRENT."""
    href = f"{_base_url(request)}/v2/"
    return {"versions": [
        {"id": vid, "status": "CURRENT" if index == 0 else "SUPPORTED",
         "links": [{"rel": "self", "href": href}]}
        for index, vid in enumerate(version_ids())]}


def versions_response(request: webob.Request, status: int) -> webob.Response:
    """The versions document as a response with ``status`` (200 or 300)."""
    response = webob.Response(status=status, content_type="application/json", charset=None)
    response.body = json.dumps(versions_document(request)).encode()
    return response


@webob.dec.wsgify
def multiple_choices(request: webob.Request) -> webob.Response:
    """WSGI app answering 300 with the versions document."""
    return versions_response(request, 300)


def create_resource(global_conf: dict | None = None, **local_conf) -> webob.dec.wsgify:
    """Paste app factory named by OpenStack Glance's file (``[app:apiversions]``):
    the versions document, 300, for whatever reaches it."""
    return multiple_choices

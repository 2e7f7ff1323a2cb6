"""``/v2/cache`` (Images API v2.14): this node's image cache and prefetch queue.

* ``GET /v2/cache`` -> 200 ``{"cached_images": [...], "queued_images": [...]}``
* ``PUT /v2/cache/{image_id}`` -> 202 (queued for the prefetcher)
* ``DELETE /v2/cache/{image_id}`` -> 204 (out of the cache and the queue)
* ``DELETE /v2/cache`` -> 204; header ``x-image-cache-clear-target``: ``cache``,
  ``queue``, or empty / ``both`` for both.
* ``POST /v2/cache/clean`` -> 200 ``{}`` (invalid and stalled files removed now)
* ``POST /v2/cache/prune`` -> 200 ``{"total_files_pruned": N, "total_bytes_pruned": B}``
* ``GET /v2/cache/nodes/{image_id}`` -> 200 ``["http://node1:9292", ...]``: the
  ``worker_self_reference_url`` of every node caching the image (``centralized_db``
  driver; 409 with another driver)
"""

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import webob

from glance import exception
from glance.api import wsgi
from glance.api.v2.images import check_image_id
from glance.services.cache import CacheService, CacheState

CLEAR_TARGET_HEADER = "x-image-cache-clear-target"


def _no_body(request: wsgi.Request) -> dict[str, Any]:
    if request.has_body():
        raise exception.BodyNotExpected()
    return {}


def _nothing_or_empty_object(request: wsgi.Request) -> dict[str, Any]:
    if request.has_body() and request.json_body() != {}:
        raise exception.BadRequest("The request body must be empty or {}.")
    return {}


class RequestDeserializer:
    """No call takes a body (``{}`` is accepted where Glance documents one); clearing
    reads its target from a header."""

    queue = delete = nodes = staticmethod(_no_body)
    clean = prune = staticmethod(_nothing_or_empty_object)

    def clear(self, request: wsgi.Request) -> dict[str, Any]:
        _no_body(request)
        return {"target": request.headers.get(CLEAR_TARGET_HEADER, "")}


class CacheController:
    """Cache management actions; each takes plain arguments."""

    def __init__(self, service: CacheService) -> None:
        self.service = service

    def list(self, request: wsgi.Request) -> CacheState:
        return self.service.list(request.context)

    def queue(self, request: wsgi.Request, image_id: str) -> None:
        check_image_id(image_id)
        self.service.queue(request.context, image_id)

    def delete(self, request: wsgi.Request, image_id: str) -> None:
        check_image_id(image_id)
        self.service.delete(request.context, image_id)

    def nodes(self, request: wsgi.Request, image_id: str) -> Sequence[str]:
        check_image_id(image_id)
        return self.service.nodes(request.context, image_id)

    def clear(self, request: wsgi.Request, target: str) -> None:
        self.service.clear(request.context, target)

    def clean(self, request: wsgi.Request) -> dict:
        self.service.clean(request.context)
        return {}

    def prune(self, request: wsgi.Request) -> dict:
        return asdict(self.service.prune(request.context))


class ResponseSerializer:
    """Renders the cache state; queueing answers 202, removals 204."""

    def list(self, response: webob.Response, state: CacheState) -> None:
        wsgi.json_response(response, {
            "cached_images": [entry.as_dict() for entry in state.cached_images],
            "queued_images": state.queued_images})

    def nodes(self, response: webob.Response, urls: Sequence[str]) -> None:
        wsgi.json_response(response, list(urls))

    def queue(self, response: webob.Response, _result: None) -> None:
        response.status_int = 202
        del response.content_type  # no body, so no media type


def create_resource(service: CacheService) -> wsgi.Resource:
    """The cache resource for the router."""
    return wsgi.Resource(CacheController(service), RequestDeserializer(), ResponseSerializer())

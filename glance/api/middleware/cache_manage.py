"""OpenStack Glance's ``cachemanage`` paste filter: the older cache-management calls.

``glance.api.middleware.cache_manage:CacheManageFilter`` answers the calls that
``glance-cache-manage`` makes, on top of the same cache service as ``/v2/cache``:

* ``GET /v2/cached_images`` -> ``{"cached_images": [...]}``
* ``DELETE /v2/cached_images`` -> ``{"num_deleted": N}``
* ``DELETE /v2/cached_images/{id}`` -> 200 ``null`` (out of the cache and the queue)
* ``GET /v2/queued_images`` -> ``{"queued_images": [...]}``
* ``PUT /v2/queued_images/{id}`` -> 200 ``null``
* ``DELETE /v2/queued_images`` -> ``{"num_deleted": N}``
* ``DELETE /v2/queued_images/{id}`` -> 200 ``null`` (out of the cache and the queue)

Every other request goes on down the pipeline.
"""

from typing import Any

import routes
import webob

from glance.api import wsgi
from glance.api.middleware import base
from glance.api.v2.images import check_image_id
from glance.services import registry
from glance.services.cache import CacheService

ROUTES = (
    ("/v2/cached_images", "GET", "get_cached_images"),
    ("/v2/cached_images", "DELETE", "delete_cached_images"),
    ("/v2/cached_images/{image_id}", "DELETE", "delete_cached_image"),
    ("/v2/queued_images", "GET", "get_queued_images"),
    ("/v2/queued_images", "DELETE", "delete_queued_images"),
    ("/v2/queued_images/{image_id}", "PUT", "queue_image"),
    ("/v2/queued_images/{image_id}", "DELETE", "delete_queued_image"),
)


class LegacyCacheController:
    """Glance's cached_images / queued_images calls as cache service calls."""

    def __init__(self, service: CacheService) -> None:
        self.service = service

    def get_cached_images(self, request: wsgi.Request) -> dict[str, Any]:
        state = self.service.list(request.context)
        return {"cached_images": [entry.as_dict() for entry in state.cached_images]}

    def get_queued_images(self, request: wsgi.Request) -> dict[str, Any]:
        return {"queued_images": self.service.list(request.context).queued_images}

    def delete_cached_images(self, request: wsgi.Request) -> dict[str, Any]:
        return {"num_deleted": self.service.clear(request.context, "cache").cache_deleted}

    def delete_queued_images(self, request: wsgi.Request) -> dict[str, Any]:
        return {"num_deleted": self.service.clear(request.context, "queue").queue_deleted}

    def queue_image(self, request: wsgi.Request, image_id: str) -> None:
        check_image_id(image_id)
        self.service.queue(request.context, image_id)

    def delete_cached_image(self, request: wsgi.Request, image_id: str) -> None:
        check_image_id(image_id)
        self.service.delete(request.context, image_id)

    delete_queued_image = delete_cached_image


class JSONSerializer:
    """Every answer is 200 with a JSON document (``null`` when there is none)."""

    def _render(self, response: webob.Response, result: Any) -> None:
        wsgi.json_response(response, result)

    get_cached_images = get_queued_images = delete_cached_images = _render
    delete_queued_images = queue_image = delete_cached_image = delete_queued_image = _render


class CacheManageFilter(base.RequestFilter):
    """Answers the older cache-management paths; passes everything else on."""

    def __init__(self, application: base.WSGIApp, conf: dict | None = None) -> None:
        super().__init__(application, conf)
        resource = wsgi.Resource(LegacyCacheController(registry.services().cache), None,
                                 JSONSerializer())
        self.mapper = routes.Mapper()
        for path, method, action in ROUTES:
            self.mapper.connect(path, controller=resource, action=action,
                                conditions={"method": [method]})

    def process_request(self, request: webob.Request) -> webob.Response | None:
        match = self.mapper.match(environ=request.environ)
        if match is None:
            return None
        request.environ["wsgiorg.routing_args"] = ((), match)
        return request.get_response(match["controller"])

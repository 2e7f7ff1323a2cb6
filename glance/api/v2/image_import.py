"""``PUT /v2/images/{id}/stage`` and ``POST /v2/images/{id}/import``."""

from typing import Any

import webob
from oslo_config import cfg

from glance import exception
from glance.api import wsgi
from glance.api.v2 import forward
from glance.api.v2.images import check_image_id
from glance.services.discovery import DiscoveryService
from glance.services.image_import import ImportService

CONF = cfg.CONF


class RequestDeserializer:
    def __init__(self, discovery: DiscoveryService) -> None:
        self.discovery = discovery

    def stage(self, request: wsgi.Request) -> dict[str, Any]:
        content_type = request.content_type
        if content_type != "application/octet-stream":
            raise exception.UnsupportedMediaType(content_type=content_type or "None")
        chunks = request.iter_body(CONF.upload_chunk_size, limit=CONF.image_size_cap,
                                   too_large=exception.ImageSizeLimitExceeded)
        return {"chunks": chunks, "size": request.content_length}

    def import_image(self, request: wsgi.Request) -> dict[str, Any]:
        body = request.json_object()
        method = body.get("method")
        if not isinstance(method, dict) or not isinstance(method.get("name"), str):
            raise exception.BadRequest("Import request requires a 'method' object with "
                                       "a 'name'.")
        stores = body.get("stores")
        if stores is not None and (not isinstance(stores, list) or
                                   not all(isinstance(s, str) for s in stores)):
            raise exception.BadRequest("'stores' must be a list of store identifiers.")
        flags = {}
        for name, default in (("all_stores", False), ("all_stores_must_succeed", True)):
            value = body.get(name, default)
            if not isinstance(value, bool):
                raise exception.BadRequest(f"'{name}' must be a boolean.")
            flags[name] = value
        header_store = request.headers.get("X-Image-Meta-Store")
        self.discovery.check_store(header_store)
        return {"method": method["name"], "uri": method.get("uri"), "stores": stores,
                "header_store": header_store or None, "request_body": body, **flags}


class ImageImportController:
    def __init__(self, service: ImportService) -> None:
        self.service = service

    def stage(self, request: wsgi.Request, image_id: str, chunks, size: int | None) -> None:
        check_image_id(image_id)
        self.service.stage(request.context, image_id, chunks, size)

    def import_image(self, request: wsgi.Request, image_id: str, method: str,
                     uri: str | None, stores: list[str] | None, header_store: str | None,
                     request_body: dict, all_stores: bool,
                     all_stores_must_succeed: bool):
        check_image_id(image_id)
        return self.service.import_image(
            request.context, image_id, method, uri=uri, stores=stores,
            all_stores=all_stores, all_stores_must_succeed=all_stores_must_succeed,
            header_store=header_store, request_body=request_body,
            forward=forward.forwarder(request, request_body))


class ResponseSerializer:
    def stage(self, response: webob.Response, _result: None) -> None:
        response.status_int = 204

    def import_image(self, response: webob.Response, task) -> None:
        response.status_int = 202
        response.content_type = None
        response.body = b""
        # The same id the request_id middleware answers with (the task's request id),
        # or the stage host's when the call was forwarded there (as Glance answers).
        if task.request_id:
            response.headers[forward.REQUEST_ID] = task.request_id


def create_resource(service: ImportService, discovery: DiscoveryService) -> wsgi.Resource:
    return wsgi.Resource(ImageImportController(service), RequestDeserializer(discovery),
                         ResponseSerializer())

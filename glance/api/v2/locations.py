"""``/v2/images/{id}/locations`` (Images API v2.17): add a location, list locations;
``DELETE /v2/stores/{store_id}/{image_id}``: remove the image's data from one store."""

from typing import Any

import webob

from glance import schema
from glance.api import wsgi
from glance.api.v2.images import check_image_id
from glance.services.locations import LocationService, add_location_schema


class RequestDeserializer:
    """The add-location body: ``{"url": ..., "validation_data": {...}}``."""

    def add_location(self, request: wsgi.Request) -> dict[str, Any]:
        body = request.json_object()
        schema.validate(add_location_schema(), body)
        return {"url": body["url"], "validation_data": body.get("validation_data")}


class LocationsController:
    """Add (202, work continues in the background) and list image locations."""

    def __init__(self, service: LocationService) -> None:
        self.service = service

    def add_location(self, request: wsgi.Request, image_id: str, url: str,
                     validation_data: dict[str, Any] | None) -> None:
        check_image_id(image_id)
        self.service.add(request.context, image_id, url, validation_data)

    def get_locations(self, request: wsgi.Request, image_id: str) -> list[dict[str, Any]]:
        check_image_id(image_id)
        return self.service.list(request.context, image_id)

    def delete_from_store(self, request: wsgi.Request, store_id: str, image_id: str) -> None:
        check_image_id(image_id)
        self.service.delete_from_store(request.context, image_id, store_id)


class ResponseSerializer:
    """Renders the results; no I/O."""

    def add_location(self, response: webob.Response, _result: None) -> None:
        response.status_int = 202
        response.body = b""
        del response.content_type

    def get_locations(self, response: webob.Response, locations: list) -> None:
        wsgi.json_response(response, locations)


def create_resource(service: LocationService) -> wsgi.Resource:
    """The locations resource for the router."""
    return wsgi.Resource(LocationsController(service), RequestDeserializer(),
                         ResponseSerializer())

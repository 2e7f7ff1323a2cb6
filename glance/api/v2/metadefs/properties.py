"""``/v2/metadefs/namespaces/{namespace}/properties[/{property_name}]``."""

from typing import Any

import webob

from glance.api import wsgi
from glance.api.v2.metadefs import common, schemas
from glance.services.metadefs import MetadefService


class RequestDeserializer:
    def show(self, request: wsgi.Request) -> dict[str, Any]:
        return {"resource_type": request.params.get("resource_type")}

    def create(self, request: wsgi.Request) -> dict[str, Any]:
        return {"body": common.body_of(request, schemas.metadef_property())}

    def update(self, request: wsgi.Request) -> dict[str, Any]:
        return {"body": common.body_of(request, schemas.metadef_property())}


class PropertiesController:
    def __init__(self, service: MetadefService) -> None:
        self.service = service

    def index(self, request: wsgi.Request, namespace: str):
        return self.service.list_properties(request.context, namespace)

    def show(self, request: wsgi.Request, namespace: str, property_name: str,
             resource_type: str | None):
        return self.service.get_property(request.context, namespace, property_name,
                                         resource_type)

    def create(self, request: wsgi.Request, namespace: str, body: dict[str, Any]):
        return self.service.create_property(request.context, namespace, body)

    def update(self, request: wsgi.Request, namespace: str, property_name: str,
               body: dict[str, Any]):
        return self.service.update_property(request.context, namespace, property_name,
                                            body)

    def delete(self, request: wsgi.Request, namespace: str, property_name: str) -> None:
        self.service.delete_property(request.context, namespace, property_name)


    def delete_all(self, request: wsgi.Request, namespace: str) -> None:
        self.service.delete_contents(request.context, namespace, "properties")


class ResponseSerializer:
    def index(self, response: webob.Response, properties: list[dict[str, Any]]) -> None:
        wsgi.json_response(response, {"properties": {
            prop["name"]: prop["schema"] for prop in properties}})

    def show(self, response: webob.Response, prop: dict[str, Any]) -> None:
        wsgi.json_response(response, common.property_view(prop))

    def update(self, response: webob.Response, prop: dict[str, Any]) -> None:
        wsgi.json_response(response, common.property_view(prop))

    def create(self, response: webob.Response, prop: dict[str, Any]) -> None:
        wsgi.json_response(response, common.property_view(prop), status=201)


def create_resource(service: MetadefService) -> wsgi.Resource:
    return wsgi.Resource(PropertiesController(service), RequestDeserializer(),
                         ResponseSerializer())

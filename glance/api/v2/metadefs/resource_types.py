"""``/v2/metadefs/resource_types`` and a namespace's resource type associations."""

from typing import Any

import webob

from glance.api import wsgi
from glance.api.v2.metadefs import common, schemas
from glance.services.metadefs import MetadefService


class RequestDeserializer:
    def create(self, request: wsgi.Request) -> dict[str, Any]:
        return {"body": common.body_of(request, schemas.resource_type_association())}


class ResourceTypesController:
    def __init__(self, service: MetadefService) -> None:
        self.service = service

    def index(self, request: wsgi.Request):
        return self.service.list_resource_types(request.context)

    def show(self, request: wsgi.Request, namespace: str):
        return self.service.list_associations(request.context, namespace)

    def create(self, request: wsgi.Request, namespace: str, body: dict[str, Any]):
        return self.service.create_association(request.context, namespace, body)

    def delete(self, request: wsgi.Request, namespace: str, resource_type: str) -> None:
        self.service.delete_association(request.context, namespace, resource_type)


class ResponseSerializer:
    def index(self, response: webob.Response, types: list[dict[str, Any]]) -> None:
        wsgi.json_response(response, {"resource_types": [
            {"name": rt["name"], **{key: rt[key] for key in ("created_at", "updated_at")
                                    if rt.get(key)}} for rt in types]})

    def show(self, response: webob.Response, assocs: list[dict[str, Any]]) -> None:
        wsgi.json_response(response, {"resource_type_associations": [
            common.association_view(assoc) for assoc in assocs]})

    def create(self, response: webob.Response, assoc: dict[str, Any]) -> None:
        wsgi.json_response(response, common.association_view(assoc), status=201)


def create_resource(service: MetadefService) -> wsgi.Resource:
    return wsgi.Resource(ResourceTypesController(service), RequestDeserializer(),
                         ResponseSerializer())

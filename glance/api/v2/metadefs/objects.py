"""``/v2/metadefs/namespaces/{namespace}/objects[/{object_name}]``."""

from typing import Any

import webob

from glance.api import wsgi
from glance.api.v2.metadefs import common, schemas
from glance.db.queries import CHILD_SORT_KEYS
from glance.services.metadefs import MetadefService


class RequestDeserializer:
    def index(self, request: wsgi.Request) -> dict[str, Any]:
        return {"query": common.page_query(request, CHILD_SORT_KEYS)}

    def create(self, request: wsgi.Request) -> dict[str, Any]:
        return {"body": common.body_of(request, schemas.metadef_object())}

    def update(self, request: wsgi.Request) -> dict[str, Any]:
        return {"body": common.body_of(request, schemas.metadef_object())}


class ObjectsController:
    def __init__(self, service: MetadefService) -> None:
        self.service = service

    def index(self, request: wsgi.Request, namespace: str, query: dict[str, Any]):
        return namespace, self.service.list_objects(request.context, namespace, **query)

    def show(self, request: wsgi.Request, namespace: str, object_name: str):
        return namespace, self.service.get_object(request.context, namespace, object_name)

    def create(self, request: wsgi.Request, namespace: str, body: dict[str, Any]):
        return namespace, self.service.create_object(request.context, namespace, body)

    def update(self, request: wsgi.Request, namespace: str, object_name: str,
               body: dict[str, Any]):
        return namespace, self.service.update_object(request.context, namespace,
                                                     object_name, body)

    def delete(self, request: wsgi.Request, namespace: str, object_name: str) -> None:
        self.service.delete_object(request.context, namespace, object_name)


    def delete_all(self, request: wsgi.Request, namespace: str) -> None:
        self.service.delete_contents(request.context, namespace, "objects")


class ResponseSerializer:
    def index(self, response: webob.Response, result) -> None:
        namespace, objects = result
        wsgi.json_response(response, {
            "objects": [common.object_view(namespace, obj) for obj in objects],
            "schema": "v2/schemas/metadefs/objects"})

    def show(self, response: webob.Response, result) -> None:
        wsgi.json_response(response, common.object_view(*result))

    def update(self, response: webob.Response, result) -> None:
        wsgi.json_response(response, common.object_view(*result))

    def create(self, response: webob.Response, result) -> None:
        view = common.object_view(*result)
        wsgi.json_response(response, view, status=201)
        response.location = common.location_of(response.request, view["self"])


def create_resource(service: MetadefService) -> wsgi.Resource:
    return wsgi.Resource(ObjectsController(service), RequestDeserializer(), ResponseSerializer())

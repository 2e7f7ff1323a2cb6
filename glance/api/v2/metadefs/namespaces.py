"""``/v2/metadefs/namespaces[/{namespace}]``: list, create, show, replace, delete."""

from typing import Any

import webob

from glance import exception
from glance.api import wsgi
from glance.api.v2.metadefs import common, schemas
from glance.db.queries import NAMESPACE_SORT_KEYS
from glance.services.metadefs import MetadefService


class RequestDeserializer:
    def index(self, request: wsgi.Request) -> dict[str, Any]:
        query = common.page_query(request, NAMESPACE_SORT_KEYS)
        params = request.params
        visibility = params.get("visibility")
        if visibility is not None and visibility not in ("public", "private"):
            raise exception.BadRequest(f"Invalid visibility value: {visibility}")
        query["visibility"] = visibility
        resource_types = params.get("resource_types")
        query["resource_types"] = ([name.strip() for name in resource_types.split(",")
                                    if name.strip()] if resource_types else [])
        return {"query": query}

    def show(self, request: wsgi.Request) -> dict[str, Any]:
        return {"resource_type": request.params.get("resource_type")}

    def create(self, request: wsgi.Request) -> dict[str, Any]:
        return {"body": common.body_of(request, schemas.namespace())}

    def update(self, request: wsgi.Request) -> dict[str, Any]:
        return {"body": common.body_of(request, schemas.namespace())}


class NamespacesController:
    def __init__(self, service: MetadefService) -> None:
        self.service = service

    def index(self, request: wsgi.Request, query: dict[str, Any]):
        return self.service.list_namespaces(request.context, **query), query["limit"]

    def show(self, request: wsgi.Request, namespace: str, resource_type: str | None):
        return self.service.get_namespace(request.context, namespace, resource_type)

    def create(self, request: wsgi.Request, body: dict[str, Any]):
        return self.service.create_namespace(request.context, body)

    def update(self, request: wsgi.Request, namespace: str, body: dict[str, Any]):
        return self.service.update_namespace(request.context, namespace, body)

    def delete(self, request: wsgi.Request, namespace: str) -> None:
        self.service.delete_namespace(request.context, namespace)


class ResponseSerializer:
    def index(self, response: webob.Response, result) -> None:
        namespaces, limit = result
        views = [common.namespace_view(ns) for ns in namespaces]
        document: dict[str, Any] = {"namespaces": views}
        document.update(common.page_links(common.NAMESPACES, response.request.params,
                                          [v["namespace"] for v in views], limit))
        document["schema"] = "/v2/schemas/metadefs/namespaces"
        wsgi.json_response(response, document)

    def show(self, response: webob.Response, namespace: dict[str, Any]) -> None:
        wsgi.json_response(response, common.namespace_view(namespace, detail=True))

    def create(self, response: webob.Response, namespace: dict[str, Any]) -> None:
        view = common.namespace_view(namespace, detail=True)
        wsgi.json_response(response, view, status=201)
        response.location = common.location_of(response.request, view["self"])

    def update(self, response: webob.Response, namespace: dict[str, Any]) -> None:
        wsgi.json_response(response, common.namespace_view(namespace))


def create_resource(service: MetadefService) -> wsgi.Resource:
    return wsgi.Resource(NamespacesController(service), RequestDeserializer(),
                         ResponseSerializer())

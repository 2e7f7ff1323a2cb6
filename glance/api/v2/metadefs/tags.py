"""``/v2/metadefs/namespaces/{namespace}/tags[/{tag_name}]``, including the bulk
``POST .../tags`` (replace, or append with ``X-Openstack-Append: true``)."""

from typing import Any

import webob

from glance import exception
from glance.api import wsgi
from glance.api.v2 import list_params
from glance.api.v2.metadefs import common, schemas
from glance.db.queries import CHILD_SORT_KEYS
from glance.services.metadefs import MetadefService

APPEND_HEADER = "X-Openstack-Append"


class RequestDeserializer:
    def index(self, request: wsgi.Request) -> dict[str, Any]:
        return {"query": common.page_query(request, CHILD_SORT_KEYS)}

    def create(self, request: wsgi.Request) -> dict[str, Any]:
        if request.has_body():
            raise exception.BodyNotExpected()
        return {}

    def create_many(self, request: wsgi.Request) -> dict[str, Any]:
        body = common.body_of(request)
        if not isinstance(body.get("tags"), list):
            raise exception.BadRequest("The body must have a 'tags' list.")
        append = request.headers.get(APPEND_HEADER)
        return {"tags": body["tags"],
                "append": list_params.parse_bool(APPEND_HEADER, append) if append else False}

    def update(self, request: wsgi.Request) -> dict[str, Any]:
        return {"body": common.body_of(request, schemas.tag())}


class TagsController:
    def __init__(self, service: MetadefService) -> None:
        self.service = service

    def index(self, request: wsgi.Request, namespace: str, query: dict[str, Any]):
        return self.service.list_tags(request.context, namespace, **query)

    def show(self, request: wsgi.Request, namespace: str, tag_name: str):
        return self.service.get_tag(request.context, namespace, tag_name)

    def create(self, request: wsgi.Request, namespace: str, tag_name: str):
        return self.service.create_tag(request.context, namespace, tag_name)

    def create_many(self, request: wsgi.Request, namespace: str, tags: Any, append: bool):
        return self.service.create_tags(request.context, namespace, tags, append)

    def update(self, request: wsgi.Request, namespace: str, tag_name: str,
               body: dict[str, Any]):
        return self.service.update_tag(request.context, namespace, tag_name, body)

    def delete(self, request: wsgi.Request, namespace: str, tag_name: str) -> None:
        self.service.delete_tag(request.context, namespace, tag_name)

    def delete_all(self, request: wsgi.Request, namespace: str) -> None:
        self.service.delete_contents(request.context, namespace, "tags")


class ResponseSerializer:
    def index(self, response: webob.Response, tags: list[dict[str, Any]]) -> None:
        wsgi.json_response(response, {"tags": [common.tag_view(tag) for tag in tags]})

    def show(self, response: webob.Response, tag: dict[str, Any]) -> None:
        wsgi.json_response(response, common.tag_view(tag))

    def update(self, response: webob.Response, tag: dict[str, Any]) -> None:
        wsgi.json_response(response, common.tag_view(tag))

    def create(self, response: webob.Response, tag: dict[str, Any]) -> None:
        wsgi.json_response(response, common.tag_view(tag), status=201)

    def create_many(self, response: webob.Response, tags: list[dict[str, Any]]) -> None:
        wsgi.json_response(response, {"tags": [{"name": tag["name"]} for tag in tags]},
                           status=201)


def create_resource(service: MetadefService) -> wsgi.Resource:
    return wsgi.Resource(TagsController(service), RequestDeserializer(), ResponseSerializer())

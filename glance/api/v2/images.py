"""``/v2/images``: create, list, show, update (JSON-patch) and delete image metadata."""

import uuid
from dataclasses import dataclass
from typing import Any

import webob
from oslo_config import cfg

from glance import exception, schema
from glance.api import wsgi
from glance.api.v2 import list_params
from glance.api.v2.forward import forwarder
from glance.db.queries import IMAGE_SORT_KEYS, Filter, ImageQuery
from glance.domain.image import Image, check_settable
from glance.services.discovery import DiscoveryService
from glance.services.images import Change, ImageService

CONF = cfg.CONF

PATCH_TYPES = ("application/openstack-images-v2.1-json-patch",
               "application/openstack-images-v2.0-json-patch")
PATCH_OPS = ("add", "remove", "replace")
MEMBER_STATUSES = ("accepted", "pending", "rejected", "all")
# Query parameters that choose the page, its order or its scope (not filters).
_PAGING_PARAMS = ("limit", "marker", "sort", "sort_key", "sort_dir", "member_status",
                  "visibility")
# Query parameters that are not property filters.
_NON_FILTER_PARAMS = _PAGING_PARAMS + ("tag", "size_min", "size_max", "created_at",
                                       "updated_at", "protected", "os_hidden")
_IN_FILTERS = ("name", "status", "id", "disk_format", "container_format", "owner",
               "checksum", "os_hash_value")
_EQ_INT_FILTERS = ("min_disk", "min_ram")


def check_image_id(image_id: str) -> None:
    """Ids that are not UUIDs can never exist: answer 404 without a query."""
    try:
        uuid.UUID(image_id)
    except ValueError as err:
        raise exception.ImageNotFound(image_id=image_id) from err


def _pointer_parts(pointer: Any) -> tuple[str, ...]:
    """Decode a JSON pointer restricted to what images support."""
    if not isinstance(pointer, str) or not pointer.startswith("/") or pointer == "/":
        raise exception.InvalidJsonPointer(pointer=pointer)
    parts = []
    for raw in pointer[1:].split("/"):
        if "~" in raw.replace("~0", "").replace("~1", ""):
            raise exception.InvalidJsonPointer(pointer=pointer)
        parts.append(raw.replace("~1", "/").replace("~0", "~"))
    if len(parts) == 1 and parts[0]:
        return tuple(parts)
    if len(parts) == 2 and parts[0] == "locations" and (
            parts[1] == "-" or parts[1].isdigit()):
        return tuple(parts)
    raise exception.InvalidJsonPointer(pointer=pointer)


class RequestDeserializer:
    """Turns requests into the controller's keyword arguments."""

    def create(self, request: wsgi.Request) -> dict[str, Any]:
        body = request.json_object()
        for name in body:
            if name not in ("id", "locations"):
                check_settable(name)
        schema.validate(schema.image_schema(), body)
        return {"attributes": body}

    def update(self, request: wsgi.Request) -> dict[str, Any]:
        content_type = request.content_type
        if content_type not in PATCH_TYPES:
            raise webob.exc.HTTPUnsupportedMediaType(
                detail=f"Invalid content type {content_type or '(none)'}",
                headers={"Accept-Patch": ", ".join(reversed(PATCH_TYPES))})
        body = request.json_body()
        if not isinstance(body, list):
            raise exception.BadRequest("A JSON-patch body must be a JSON array of "
                                       "operations.")
        legacy = content_type == PATCH_TYPES[1]
        image_schema = schema.image_schema()
        changes = [self._change(item, legacy, image_schema) for item in body]
        return {"changes": changes}

    @staticmethod
    def _change(item: Any, legacy: bool, image_schema: dict) -> Change:
        if not isinstance(item, dict):
            raise exception.BadRequest("Each JSON-patch operation must be an object.")
        if legacy and "op" not in item:
            ops = [key for key in item if key in PATCH_OPS]
            if len(ops) != 1:
                raise exception.BadRequest("Each operation must name exactly one of: "
                                           "add, remove, replace.")
            op, pointer = ops[0], item[ops[0]]
        else:
            op, pointer = item.get("op"), item.get("path")
            if op not in PATCH_OPS:
                raise exception.BadRequest(
                    f"Invalid operation: `{op}`. It must be one of the following: "
                    "add, remove, replace.")
        path = _pointer_parts(pointer)
        if path[0] == "id":
            raise exception.ReadonlyProperty(name="id")
        if path[0] not in ("locations", "tags"):
            check_settable(path[0])
        if op == "remove":
            return Change(op, path)
        if "value" not in item:
            raise exception.BadRequest(f"Operation '{op}' on {pointer} needs a 'value'.")
        value = item["value"]
        if path[0] != "locations":
            schema.validate_property(image_schema, path[0], value)
        return Change(op, path, value)

    def index(self, request: wsgi.Request) -> dict[str, Any]:
        params = request.params
        list_params.check_filter_count(
            sum(1 for name in params.keys() if name not in _PAGING_PARAMS))
        query = ImageQuery(limit=list_params.parse_limit(params.get("limit")),
                           marker=params.get("marker"))
        query.sort = list_params.parse_sort(params, IMAGE_SORT_KEYS, [("created_at", "desc")])
        visibility = params.get("visibility")
        if visibility is not None and visibility not in schema.VISIBILITIES + ["all"]:
            raise exception.BadRequest(f"Invalid visibility value: {visibility}")
        query.visibility = visibility
        member_status = params.get("member_status", "accepted")
        if member_status not in MEMBER_STATUSES:
            raise exception.BadRequest(f"Invalid status value: {member_status}")
        query.member_status = member_status
        query.tags = params.getall("tag")
        self._filters(params, query)
        return {"query": query}

    @staticmethod
    def _filters(params, query: ImageQuery) -> None:
        for name in ("created_at", "updated_at"):
            for raw in params.getall(name):
                op, value = list_params.parse_operator(raw)
                query.filters.append(
                    Filter(name, op, list_params.parse_datetime(name, value)))
        for name, column, op in (("size_min", "size", "gte"), ("size_max", "size", "lte")):
            if name in params:
                value = list_params.parse_int(name, params[name])
                query.filters.append(Filter(column, op, value))
        os_hidden = params.get("os_hidden")
        hidden = list_params.parse_bool("os_hidden", os_hidden) if os_hidden else False
        query.filters.append(Filter("os_hidden", "eq", hidden))
        if "protected" in params:
            query.filters.append(Filter("protected", "eq", list_params.parse_bool(
                "protected", params["protected"])))
        for name, raw in params.items():
            if name in _NON_FILTER_PARAMS:
                continue
            if name in _IN_FILTERS:
                if raw.startswith("in:"):
                    query.filters.append(Filter(name, "in", list_params.split_in(raw[3:])))
                else:
                    query.filters.append(Filter(name, "eq", raw))
            elif name in _EQ_INT_FILTERS:
                query.filters.append(Filter(name, "eq", list_params.parse_int(name, raw)))
            else:
                values = list_params.split_in(raw[3:]) if raw.startswith("in:") else [raw]
                query.properties.setdefault(name, []).extend(values)


@dataclass
class ShownImage:
    """An image as the serializer renders it, and whether its ``locations`` show."""

    image: Image
    show_locations: bool


@dataclass
class CreatedImage(ShownImage):
    """A new image, with what the create response's headers announce."""

    import_methods: list[str]
    store_ids: list[str] | None


class ImagesController:
    """Image metadata actions; each takes plain arguments and returns what to render."""

    def __init__(self, service: ImageService, discovery: DiscoveryService) -> None:
        self.service = service
        self.discovery = discovery

    def _shown(self, request: wsgi.Request, image: Image) -> ShownImage:
        context = request.context
        return ShownImage(self.service.as_seen_by(context, image),
                          self.service.locations_visible(context, image))

    def create(self, request: wsgi.Request, attributes: dict[str, Any]) -> CreatedImage:
        context = request.context
        image = self.service.create(context, attributes)
        return CreatedImage(self.service.as_seen_by(context, image),
                            self.service.locations_visible(context, image),
                            self.discovery.import_methods(),
                            self.discovery.writable_store_ids())

    def index(self, request: wsgi.Request,
              query: ImageQuery) -> tuple[list[ShownImage], int]:
        page = self.service.list(request.context, query)
        # A page thinned by the get_image policy still links to the next one when the
        # database's page was full (as Glance does): the threshold is what is left.
        limit = (len(page) or query.limit) if page.full else query.limit
        return [self._shown(request, image) for image in page], limit

    def show(self, request: wsgi.Request, image_id: str) -> ShownImage:
        check_image_id(image_id)
        return self._shown(request, self.service.get(request.context, image_id))

    def update(self, request: wsgi.Request, image_id: str,
               changes: list[Change]) -> ShownImage:
        check_image_id(image_id)
        return self._shown(request, self.service.update(request.context, image_id, changes))

    def delete(self, request: wsgi.Request, image_id: str) -> None:
        check_image_id(image_id)
        self.service.delete(request.context, image_id, forward=forwarder(request))


# Properties OpenStack Glance keeps for its distributed import (the node an image was
# staged on, or is hashed on) and never shows; a mixed cluster has them in the database.
HIDDEN_PROPERTIES = ("os_glance_stage_host", "os_glance_hash_op_host",
                     # glance's own: the node writing the data (peer upload recovery)
                     "os_glance_upload_host")


def image_view(image: Image, show_locations: bool = True) -> dict[str, Any]:
    """The JSON representation of an image (``locations`` empty if not ``show_locations``)."""
    view: dict[str, Any] = {name: value for name, value in image.extra.items()
                            if name not in HIDDEN_PROPERTIES}
    for name in ("name", "disk_format", "container_format", "visibility", "size",
                 "virtual_size", "status", "checksum", "protected", "min_ram", "min_disk",
                 "owner", "os_hidden", "os_hash_algo", "os_hash_value", "id",
                 "created_at", "updated_at"):
        view[name] = getattr(image, name)
    view["tags"] = list(image.tags)
    active_locations = [loc for loc in image.locations if loc.get("status") == "active"]
    stores = [loc["metadata"]["store"] for loc in active_locations
              if loc.get("metadata", {}).get("store")]
    if stores:
        view["stores"] = ",".join(dict.fromkeys(stores))
    if CONF.show_multiple_locations:
        view["locations"] = [{"url": loc["url"], "metadata": loc["metadata"]}
                             for loc in active_locations] if show_locations else []
    if CONF.show_image_direct_url and active_locations:
        view["direct_url"] = active_locations[0]["url"]
    view["self"] = f"/v2/images/{image.id}"
    view["file"] = f"/v2/images/{image.id}/file"
    view["schema"] = "/v2/schemas/image"
    return view


def _view(shown: ShownImage) -> dict[str, Any]:
    return image_view(shown.image, shown.show_locations)


class ResponseSerializer:
    """Renders what the controller returns; no I/O, no policy."""

    def create(self, response: webob.Response, created: CreatedImage) -> None:
        wsgi.json_response(response, _view(created), status=201)
        response.location = (f"{response.request.application_url}/v2/images/"
                             f"{created.image.id}")
        response.headers["OpenStack-image-import-methods"] = ",".join(
            created.import_methods)
        if created.store_ids is not None:
            response.headers["OpenStack-image-store-ids"] = ",".join(created.store_ids)

    def show(self, response: webob.Response, shown: ShownImage) -> None:
        wsgi.json_response(response, _view(shown))

    def update(self, response: webob.Response, shown: ShownImage) -> None:
        wsgi.json_response(response, _view(shown))

    def index(self, response: webob.Response,
              result: tuple[list[ShownImage], int]) -> None:
        shown, limit = result
        views = [_view(item) for item in shown]
        document: dict[str, Any] = {"images": views}
        document.update(list_params.page_links("/v2/images", response.request.params,
                                               views, limit))
        document["schema"] = "/v2/schemas/images"
        wsgi.json_response(response, document)

    def delete(self, response: webob.Response, _result: None) -> None:
        response.status_int = 204


def create_resource(service: ImageService, discovery: DiscoveryService) -> wsgi.Resource:
    """The images resource for the router."""
    return wsgi.Resource(ImagesController(service, discovery), RequestDeserializer(),
                         ResponseSerializer())

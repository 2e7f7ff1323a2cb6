"""Request parsing and JSON views shared by the metadefs resources."""

from typing import Any
from urllib.parse import quote, urlencode

from glance import exception, schema
from glance.api import wsgi
from glance.api.v2 import list_params

READ_ONLY = ("self", "schema", "created_at", "updated_at")
NAMESPACES = "/v2/metadefs/namespaces"


def body_of(request: wsgi.Request, document_schema: dict | None = None) -> dict[str, Any]:
    """The JSON object body: read-only attributes are 403, schema errors 400."""
    if not request.has_body():
        raise exception.BadRequest("Body expected in request.")
    body = request.json_object()
    for key in READ_ONLY:
        if key in body:
            raise exception.ReadonlyProperty(name=key)
    if document_schema is not None:
        schema.validate(document_schema, body)
    return body


def page_query(request: wsgi.Request, sort_keys: tuple[str, ...]) -> dict[str, Any]:
    """limit / marker / sort_key / sort_dir of a metadefs list call."""
    params = request.params
    sort_key = params.get("sort_key", "created_at")
    if sort_key not in sort_keys:
        raise exception.InvalidSortKey(key=sort_key, allowed=", ".join(sort_keys))
    sort_dir = params.get("sort_dir", "desc")
    if sort_dir not in ("asc", "desc"):
        raise exception.BadRequest(f"Invalid sort direction: {sort_dir}")
    return {"limit": list_params.parse_limit(params.get("limit")),
            "marker": params.get("marker"), "sort_key": sort_key, "sort_dir": sort_dir}


def page_links(path: str, params, names: list[str], limit: int) -> dict[str, str]:
    """``first`` (the query without marker) and, for a full page, ``next``."""
    kept = [(key, value) for key, value in params.items() if key != "marker"]
    links = {"first": f"{path}?{urlencode(kept)}" if kept else path}
    if names and len(names) >= limit:
        links["next"] = f"{path}?{urlencode(kept + [('marker', names[-1])])}"
    return links


def _stamps(item: dict[str, Any]) -> dict[str, Any]:
    return {key: item[key] for key in ("created_at", "updated_at") if item.get(key)}


def namespace_href(name: str) -> str:
    return f"{NAMESPACES}/{name}"


def association_view(assoc: dict[str, Any]) -> dict[str, Any]:
    view = {"name": assoc["name"]}
    for key in ("prefix", "properties_target"):
        if assoc.get(key) is not None:
            view[key] = assoc[key]
    view.update(_stamps(assoc))
    return view


def object_view(namespace: str, obj: dict[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {"name": obj["name"]}
    if obj.get("description") is not None:
        view["description"] = obj["description"]
    view["required"] = list(obj.get("required") or [])
    view["properties"] = obj.get("properties") or {}
    view.update(_stamps(obj))
    view["self"] = f"{namespace_href(namespace)}/objects/{obj['name']}"
    view["schema"] = "/v2/schemas/metadefs/object"
    return view


def property_view(prop: dict[str, Any]) -> dict[str, Any]:
    return {"name": prop["name"], **prop["schema"]}


def tag_view(tag: dict[str, Any]) -> dict[str, Any]:
    return {"name": tag["name"], **_stamps(tag)}


def namespace_view(ns: dict[str, Any], detail: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {"namespace": ns["namespace"]}
    for key in ("display_name", "description"):
        if ns.get(key) is not None:
            view[key] = ns[key]
    view["visibility"] = ns["visibility"]
    view["protected"] = ns["protected"]
    if ns.get("owner") is not None:
        view["owner"] = ns["owner"]
    view.update(_stamps(ns))
    view["self"] = namespace_href(ns["namespace"])
    view["schema"] = "/v2/schemas/metadefs/namespace"
    assocs = ns.get("resource_type_associations") or []
    if assocs:
        view["resource_type_associations"] = [association_view(a) for a in assocs]
    if detail:
        if ns.get("properties"):
            view["properties"] = {p["name"]: p["schema"] for p in ns["properties"]}
        if ns.get("objects"):
            view["objects"] = [object_view(ns["namespace"], o) for o in ns["objects"]]
        if ns.get("tags"):
            view["tags"] = [{"name": t["name"]} for t in ns["tags"]]
    return view


def location_of(request: wsgi.Request, path: str) -> str:
    """An absolute Location header value for ``path`` (quoted as a URL path)."""
    return request.application_url + quote(path, safe="/:")

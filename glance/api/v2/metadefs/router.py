"""The metadefs part of the v2 route table (Glance's /v2/metadefs URL set)."""

from glance.api import wsgi
from glance.api.v2.metadefs import namespaces, objects, properties, resource_types, tags
from glance.services.metadefs import MetadefService

NS = "/v2/metadefs/namespaces/{namespace}"


def route_table(service: MetadefService) -> list[wsgi.Route]:
    """Every /v2/metadefs route, served by ``service``."""
    ns = namespaces.create_resource(service)
    obj = objects.create_resource(service)
    prop = properties.create_resource(service)
    tag = tags.create_resource(service)
    rt = resource_types.create_resource(service)
    return [
        wsgi.Route("/v2/metadefs/resource_types", rt, {"GET": "index"}),
        wsgi.Route("/v2/metadefs/namespaces", ns, {"GET": "index", "POST": "create"}),
        wsgi.Route(NS, ns, {"GET": "show", "PUT": "update", "DELETE": "delete"}),
        wsgi.Route(f"{NS}/resource_types", rt, {"GET": "show", "POST": "create"}),
        wsgi.Route(f"{NS}/resource_types/{{resource_type}}", rt, {"DELETE": "delete"}),
        wsgi.Route(f"{NS}/objects", obj,
                   {"GET": "index", "POST": "create", "DELETE": "delete_all"}),
        wsgi.Route(f"{NS}/objects/{{object_name}}", obj,
                   {"GET": "show", "PUT": "update", "DELETE": "delete"}),
        wsgi.Route(f"{NS}/properties", prop,
                   {"GET": "index", "POST": "create", "DELETE": "delete_all"}),
        wsgi.Route(f"{NS}/properties/{{property_name}}", prop,
                   {"GET": "show", "PUT": "update", "DELETE": "delete"}),
        wsgi.Route(f"{NS}/tags", tag,
                   {"GET": "index", "POST": "create_many", "DELETE": "delete_all"}),
        wsgi.Route(f"{NS}/tags/{{tag_name}}", tag,
                   {"GET": "show", "POST": "create", "PUT": "update", "DELETE": "delete"}),
    ]

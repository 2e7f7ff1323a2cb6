"""``/v2/info/*``: what this cloud offers (import methods, stores, usage)."""

from glance.api import wsgi
from glance.services.discovery import DiscoveryService


class DiscoveryController:
    def __init__(self, service: DiscoveryService) -> None:
        self.service = service

    def get_import_info(self, request: wsgi.Request) -> dict:
        return {"import-methods": {"description": "Import methods available.",
                                   "type": "array",
                                   "value": self.service.import_methods()}}

    def get_stores(self, request: wsgi.Request) -> dict:
        return {"stores": self.service.stores()}

    def get_stores_detail(self, request: wsgi.Request) -> dict:
        return {"stores": self.service.stores_detail(request.context)}

    def get_usage(self, request: wsgi.Request) -> dict:
        return {"usage": self.service.usage(request.context)}


def create_resource(service: DiscoveryService) -> wsgi.Resource:
    return wsgi.Resource(DiscoveryController(service))

"""``/v2/info/*``: what this cloud offers (import methods, stores, usage)."""

from typing import Any

from oslo_config import cfg

from glance import exception, policy
from glance import store as image_store
from glance.api import wsgi
from glance.services import image_import

CONF = cfg.CONF


def import_methods_header() -> str:
    """``OpenStack-image-import-methods`` of an image-create response."""
    return ",".join(image_import.enabled_methods())


def store_ids_header() -> str | None:
    """``OpenStack-image-store-ids`` (writable stores; multi-store only)."""
    if not image_store.is_multi_store():
        return None
    return ",".join(s for s in image_store.store_ids() if not image_import.read_only_store(s))


def _store_entry(store_id: str) -> dict[str, Any]:
    group = getattr(CONF, store_id, None)
    entry: dict[str, Any] = {"id": store_id,
                             "description": getattr(group, "store_description", None) or ""}
    if store_id == image_store.default_backend():
        entry["default"] = "true"
    if image_import.read_only_store(store_id):
        entry["read-only"] = "true"
    return entry


def _store_properties(store_id: str, store_type: str) -> dict[str, Any]:
    group = getattr(CONF, store_id, None)
    if store_type == "file" and group is not None:
        return {"data_dir": group.filesystem_store_datadir,
                "chunk_size": group.filesystem_store_chunk_size,
                "thin_provisioning": group.filesystem_thin_provisioning}
    return {}


class DiscoveryController:
    def get_import_info(self, request: wsgi.Request) -> dict:
        return {"import-methods": {"description": "Import methods available.",
                                   "type": "array",
                                   "value": image_import.enabled_methods()}}

    def get_stores(self, request: wsgi.Request) -> dict:
        if not image_store.is_multi_store():
            raise exception.NotFound("Multi backend is not supported at this site.")
        return {"stores": [_store_entry(s) for s in image_store.store_ids()]}

    def get_stores_detail(self, request: wsgi.Request) -> dict:
        context = request.context
        policy.authorize(context, "stores_info_detail", {})  # Glance's target
        if not image_store.is_multi_store():
            raise exception.NotFound("Multi backend is not supported at this site.")
        stores = []
        for store_id, store_type in (CONF.enabled_backends or {}).items():
            entry = _store_entry(store_id)
            group = getattr(CONF, store_id, None)
            entry.update(type=store_type, weight=getattr(group, "weight", 0) or 0,
                         properties=_store_properties(store_id, store_type))
            stores.append(entry)
        return {"stores": stores}

    def get_usage(self, request: wsgi.Request) -> dict:
        return {"usage": {}}


def create_resource() -> wsgi.Resource:
    return wsgi.Resource(DiscoveryController())

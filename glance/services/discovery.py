"""What this cloud offers: import methods and stores (``/v2/info/*``, the headers of
an image-create response, and the store a request names)."""

from typing import Any

from oslo_config import cfg

from glance import exception, keystone_limits
from glance import store as image_store

CONF = cfg.CONF


class DiscoveryService:
    """Import methods and stores as configured, with the stores-detail policy."""

    def __init__(self, enforcer, store=image_store,
                 limits: keystone_limits.KeystoneLimits | None = None) -> None:
        self.policy = enforcer
        self.store = store
        self.limits = limits or keystone_limits.KeystoneLimits()

    # -- usage --------------------------------------------------------------------------

    def usage(self, context) -> dict[str, dict[str, int]]:
        """``GET /v2/info/usage``: the caller's project's Keystone limits and usage
        (empty without ``use_keystone_limits``)."""
        return self.limits.usage(context.owner)

    # -- import methods -----------------------------------------------------------------

    def import_methods(self) -> list[str]:
        """Import methods offered here (copy-image needs several stores)."""
        methods = list(dict.fromkeys(CONF.enabled_import_methods))
        if not self.store.is_multi_store() and "copy-image" in methods:
            methods.remove("copy-image")
        return methods

    # -- stores -------------------------------------------------------------------------

    def multi_store(self) -> bool:
        """Whether ``[DEFAULT] enabled_backends`` names the stores."""
        return self.store.is_multi_store()

    def store_ids(self) -> list[str]:
        """Every enabled store (multi-store)."""
        return self.store.store_ids()

    def default_store(self) -> str | None:
        """The store data goes to when a request names none."""
        return self.store.default_backend()

    @staticmethod
    def read_only(store_id: str) -> bool:
        """Stores nothing can be written to (the http store)."""
        return (CONF.enabled_backends or {}).get(store_id) == "http"

    def writable_store_ids(self) -> list[str] | None:
        """The stores data may be written to; None without multi-store."""
        if not self.multi_store():
            return None
        return [s for s in self.store_ids() if not self.read_only(s)]

    def check_store(self, store_id: str | None) -> None:
        """400 when a multi-store cloud has no store ``store_id``."""
        if store_id and self.multi_store() and store_id not in self.store_ids():
            raise exception.UnknownStore(store=store_id)

    def upload_store(self, store_id: str | None) -> str | None:
        """The store an upload names (``X-Image-Meta-Store``), checked; None when the
        cloud has one store."""
        self.check_store(store_id)
        return store_id if self.multi_store() else None

    def stores(self) -> list[dict[str, Any]]:
        """``GET /v2/info/stores``: 404 without multi-store."""
        if not self.multi_store():
            raise exception.NotFound("Multi backend is not supported at this site.")
        return [self._entry(s) for s in self.store_ids()]

    def stores_detail(self, context) -> list[dict[str, Any]]:
        """``GET /v2/info/stores/detail`` (``stores_info_detail``, an empty target as
        in Glance): every store with its type, weight and properties."""
        self.policy.authorize(context, "stores_info_detail", {})
        if not self.multi_store():
            raise exception.NotFound("Multi backend is not supported at this site.")
        stores = []
        for store_id, store_type in (CONF.enabled_backends or {}).items():
            entry = self._entry(store_id)
            group = getattr(CONF, store_id, None)
            entry.update(type=store_type, weight=getattr(group, "weight", 0) or 0,
                         properties=self._properties(store_id, store_type))
            stores.append(entry)
        return stores

    def _entry(self, store_id: str) -> dict[str, Any]:
        group = getattr(CONF, store_id, None)
        entry: dict[str, Any] = {"id": store_id,
                                 "description": getattr(group, "store_description",
                                                        None) or ""}
        if store_id == self.default_store():
            entry["default"] = "true"
        if self.read_only(store_id):
            entry["read-only"] = "true"
        return entry

    @staticmethod
    def _properties(store_id: str, store_type: str) -> dict[str, Any]:
        group = getattr(CONF, store_id, None)
        if store_type == "file" and group is not None:
            return {"data_dir": group.filesystem_store_datadir,
                    "chunk_size": group.filesystem_store_chunk_size,
                    "thin_provisioning": group.filesystem_thin_provisioning}
        return {}

"""The ``centralized_db`` driver's bookkeeping: this node's rows in Glance's shared
``cached_images`` table, under its ``node_reference`` row.

The same interface as :class:`glance.image_cache.index.CacheIndex` (the SQLite
file of one node), so :class:`~glance.image_cache.cache.ImageCache` takes either.
The data stays in the node's ``image_cache_dir``; only the index is shared, which
lets any node answer ``GET /v2/cache/nodes/{image_id}``. A node's index is keyed by
its ``worker_self_reference_url``.
"""

from dataclasses import dataclass
from typing import Any

from oslo_db import exception as db_exc
from oslo_log import log as logging

from glance.db.sqlalchemy import cache_api
from glance.image_cache.index import CachedImage

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class CentralCachedImage(CachedImage):
    """A row of the shared table: also its id and md5, as Glance lists them."""

    id: int = 0
    checksum: str | None = None


def _entry(row: dict[str, Any]) -> CentralCachedImage:
    return CentralCachedImage(row["image_id"], row["hits"], row["last_accessed"],
                              row["last_modified"], row["size"], row["id"], row["checksum"])


class CentralIndex:
    """This node's cached images in the shared database."""

    def __init__(self, node_url: str) -> None:
        self.node_url = node_url
        self._node_id: int | None = None

    @property
    def node_id(self) -> int:
        if self._node_id is None:
            self._node_id = cache_api.node_reference_id(self.node_url)
        return self._node_id

    def add(self, image_id: str, size: int, checksum: str | None) -> None:
        """Record a newly cached image (replacing a previous row)."""
        cache_api.add(self.node_id, image_id, size, checksum)

    def hit(self, image_id: str) -> None:
        """Count one download served from the cache (a failure only loses the count)."""
        try:
            cache_api.hit(self.node_id, image_id)
        except db_exc.DBError as err:
            LOG.debug("Cache hit of image %s not counted: %s", image_id, err)

    def remove(self, image_ids: list[str] | None = None) -> list[str]:
        """Forget ``image_ids`` (all rows when None); returns the ids that had a row."""
        return cache_api.remove(self.node_id, image_ids)

    def get(self, image_id: str) -> CachedImage | None:
        """One row, or None."""
        found = cache_api.rows(self.node_id, image_id)
        return _entry(found[0]) if found else None

    def all(self) -> list[CachedImage]:
        """Every row of this node, least recently used first."""
        return [_entry(row) for row in cache_api.rows(self.node_id)]

    def total_size(self) -> int:
        """Bytes held by this node's cached images."""
        return cache_api.total_size(self.node_id)


def nodes_caching(image_id: str) -> list[str]:
    """The URLs of every node whose cache holds ``image_id``."""
    return cache_api.nodes_caching(image_id)

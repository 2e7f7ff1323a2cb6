"""Image cache use cases (``/v2/cache``): list, queue, remove one, clear, clean, prune.

The order of checks follows Glance: the image is looked up first (404 when
unknown or invisible), then the policy (403), then whether this node has a
cache at all (404), then the request itself (400).
"""

from collections.abc import Sequence
from dataclasses import dataclass

from oslo_config import cfg

from glance import exception, image_cache
from glance.domain import image as domain
from glance.image_cache.index import CachedImage
from glance.services import access

CONF = cfg.CONF

# x-image-cache-clear-target: what DELETE /v2/cache clears ("both" is the
# glanceclient's name for the default).
CLEAR_TARGETS = {"": (True, True), "both": (True, True), "cache": (True, False),
                 "queue": (False, True)}


@dataclass
class CacheState:
    """What the cache holds and what waits for the prefetcher."""

    cached_images: list[CachedImage]
    queued_images: list[str]


@dataclass
class Pruned:
    """What a prune removed."""

    total_files_pruned: int
    total_bytes_pruned: int


@dataclass
class Cleared:
    """How many images left the cache and the queue."""

    cache_deleted: int | None
    queue_deleted: int | None


class CacheService:
    """Cache management, with policy applied."""

    def __init__(self, enforcer, access_: access.ImageAccess, cache=image_cache) -> None:
        self.policy = enforcer
        self.cache = cache
        self.access = access_

    def _authorize(self, context, action: str, image: domain.Image | None) -> None:
        # As in Glance: the image's target, or an empty one for node-wide calls.
        target = access.policy_target(context, image) if image is not None else {}
        self.policy.authorize(context, action, target)
        if not self.cache.enabled():
            raise exception.CacheDisabled()

    def list(self, context) -> CacheState:
        """The cached images (least recently used first) and the queue, in order."""
        self._authorize(context, "cache_list", None)
        cache = self.cache.get()
        return CacheState(cache.cached(), cache.queued())

    def queue(self, context, image_id: str) -> None:
        """Queue an active image for the prefetcher (no-op when cached or queued)."""
        image = self.access.get(context, image_id)
        self._authorize(context, "cache_image", image)
        if image.status != "active":
            raise exception.NotQueueable()
        if self.cache.get().queue(image_id):
            self.cache.wake()

    def delete(self, context, image_id: str) -> None:
        """Remove one image from the cache and the queue.

        A deleted (or invisible) image may still be removed when the cache or the
        queue holds it; otherwise an unknown image is 404.
        """
        try:
            self._authorize(context, "cache_delete", self.access.get(context, image_id))
        except exception.ImageNotFound:
            cache = self.cache.get() if self.cache.enabled() else None
            if cache is None or not (cache.is_cached(image_id) or
                                     cache.is_queued(image_id)):
                raise
            try:
                self._authorize(context, "cache_delete", None)
            except exception.Forbidden:
                raise exception.ImageNotFound(image_id=image_id) from None
        cache = self.cache.get()
        cache.delete(image_id)
        cache.dequeue([image_id])

    def nodes(self, context, image_id: str) -> Sequence[str]:
        """The nodes whose cache holds ``image_id``, in Glance's order of checks:
        policy (403), cache off (404), another driver (409), unknown image (404)."""
        self._authorize(context, "list_cached_nodes", None)
        if not self.cache.centralized():
            raise exception.Conflict("Centralized caching is not enabled")
        self.access.get(context, image_id)
        return self.cache.nodes_caching(image_id)

    def clear(self, context, target: str) -> Cleared:
        """Empty the cache, the queue, or both (``target``: the clear-target header)."""
        self._authorize(context, "cache_delete", None)
        try:
            clear_cache, clear_queue = CLEAR_TARGETS[target.strip().lower()]
        except KeyError as err:
            raise exception.BadClearTarget() from err
        cache = self.cache.get()
        return Cleared(cache.delete_all() if clear_cache else None,
                       cache.dequeue() if clear_queue else None)

    def clean(self, context) -> None:
        """Remove invalid data and stalled incomplete files now."""
        self._authorize(context, "cache_clean", None)
        self.cache.get().clean(CONF.image_cache_stall_time)

    def prune(self, context) -> Pruned:
        """Prune the cache to ``image_cache_max_size`` now."""
        self._authorize(context, "cache_prune", None)
        return Pruned(*self.cache.get().prune(CONF.image_cache_max_size))

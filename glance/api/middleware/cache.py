"""OpenStack Glance's ``cache`` paste filter (``glance.api.middleware.cache:CacheFilter``).

The image cache itself is :mod:`glance.image_cache`, used by the download path.
A pipeline built by Glance's ``pipeline_factory`` serves and fills it on
downloads only when it has this filter, as in Glance; the filter then needs
``[DEFAULT] image_cache_dir`` (Glance's workers fail without it; here it is a
start-up error). It adds nothing to the request path.
"""

from oslo_config import cfg

from glance import image_cache
from glance.api.flavors import PasteConfigError

CONF = cfg.CONF


class CacheFilter:
    """Marks the pipeline as caching downloads; passes every request through."""

    @classmethod
    def check_config(cls) -> None:
        """PasteConfigError unless this node has an image cache directory."""
        if not CONF.image_cache_dir:
            raise PasteConfigError("the cache filter needs [DEFAULT] image_cache_dir")

    @classmethod
    def factory(cls, global_conf: dict, **local_conf):
        """paste.deploy filter factory."""
        cls.check_config()
        image_cache.cache_downloads(True)
        return lambda application: application

"""oslo.middleware's CORS filter, configured from glance's own [cors] section.

The stock paste factory either needs origins in the paste file or loads a
second config object by project name; this one hands it the global CONF, so
``[cors] allowed_origin`` in glance-api.conf is what counts.
"""

from oslo_config import cfg
from oslo_middleware import cors


def filter_factory(global_conf: dict, **local_conf):
    """Paste filter factory."""
    return lambda app: cors.CORS(app, cfg.CONF)

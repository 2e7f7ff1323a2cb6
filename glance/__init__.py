"""glance: an image service that speaks the OpenStack Images API v2."""

import warnings

# eventlet warns, in 9 lines, whenever it is imported. glance never uses it, but
# two dependencies import it: oslo.messaging imports oslo.service, whose eventlet
# backend imports it, and glance_store's file driver imports futurist, which imports
# it when installed. An operator cannot act on the warning, so it is silenced here,
# before any of them can be imported by any entry point (glance-api, the WSGI
# application, glance-manage, glance-scrubber, oslo-config-generator).
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

"""Schemathesis hooks for glance (``SCHEMATHESIS_HOOKS=tests.fuzz.schemathesis_hooks``).

The image JSON-patch media types are JSON documents; schemathesis only knows
``application/json`` and ``*+json`` by name, so they are registered as aliases.
"""

import schemathesis

PATCH_MEDIA_TYPES = ["application/openstack-images-v2.1-json-patch",
                     "application/openstack-images-v2.0-json-patch"]

schemathesis.serializer.alias(PATCH_MEDIA_TYPES, "application/json")

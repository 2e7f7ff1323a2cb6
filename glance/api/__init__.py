"""The Images API application (WSGI). Built by glance.api.app.init_app().

``root_app_factory`` and ``pipeline_factory`` are here because OpenStack Glance's
stock ``glance-api-paste.ini`` names them ``glance.api:...``; they live in
:mod:`glance.api.flavors`.
"""

from glance.api.flavors import pipeline_factory, root_app_factory

__all__ = ["pipeline_factory", "root_app_factory"]

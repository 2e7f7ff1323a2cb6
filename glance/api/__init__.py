"""The Images API application (WSGI). Built by glance.api.app.init_app()."""

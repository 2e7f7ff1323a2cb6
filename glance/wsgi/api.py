"""WSGI entry point for Apache mod_wsgi and uwsgi: ``glance.wsgi.api:application``.

Config files come from ``$OS_GLANCE_CONFIG_FILE``, else
``$OS_GLANCE_CONFIG_DIR/glance-api.conf``, else ``/etc/glance/glance-api.conf``.
The application is built once per process, when this module is imported.
"""

from glance.api import app as _app

application = _app.init_app()

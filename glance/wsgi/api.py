"""WSGI entry point for Apache mod_wsgi and uwsgi: ``glance.wsgi.api:application``.

Config files come from ``$OS_GLANCE_CONFIG_FILE``, else
``$OS_GLANCE_CONFIG_DIR/glance-api.conf``, else ``/etc/glance/glance-api.conf``.
The application is built once per process, when this module is imported. Each
process that serves it also checks now and then for uploads a killed process
left in ``saving`` (``glance.services.upload_recovery``).
"""

from glance.api import app as _app
from glance.services import upload_recovery as _upload_recovery

application = _upload_recovery.watching(_app.init_app())

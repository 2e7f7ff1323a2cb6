"""The ``database`` backend of oslo.middleware's ``/healthcheck`` application.

Enabled by naming it in the paste file's ``[app:healthcheck] backends`` (ours
has ``disable_by_file,database``): ``/healthcheck`` then answers 503 with the
reason ``DATABASE UNAVAILABLE`` while the database cannot serve requests (see
glance/db/health.py for the cost and the time bound). With ``[healthcheck]
detailed = true`` the JSON and HTML answers also say why, or how fast the
database answered.
"""

from oslo_middleware.healthcheck import pluginbase

from glance.db import health

# Healthy, it adds no reason, so that the plain answer stays Glance's "OK" (load
# balancers match it); disable_by_file gives that one.
HEALTHY_REASON = ""
UNHEALTHY_REASON = "DATABASE UNAVAILABLE"


class DatabaseHealthcheck(pluginbase.HealthcheckBaseExtension):
    """Reports whether this process can use the database."""

    def healthcheck(self, server_port: int) -> pluginbase.HealthcheckResult:
        result = health.check()
        return pluginbase.HealthcheckResult(
            available=result.ok, reason=HEALTHY_REASON if result.ok else UNHEALTHY_REASON,
            details=result.details)

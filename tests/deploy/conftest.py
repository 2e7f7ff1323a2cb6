"""Fixtures of the deployment tier.

``deployment`` is parametrized over every way of running the API: the standalone
``glance-api``, Apache httpd + mod_wsgi (port vhost and ``/image`` prefix) and
uwsgi. Each server is started once per session and stopped at the end.

When Apache, mod_wsgi or uwsgi is missing the tests of that deployment are
skipped, naming the install script; with ``GLANCE_DEPLOY_REQUIRED=1`` (as in CI)
they fail instead.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.deploy import servers

KEEP_ENV = "GLANCE_DEPLOY_KEEP"  # keep work dirs (logs, rendered configs) after the run


@pytest.fixture(scope="session")
def start_deployment():
    """Factory: start the named deployment; everything started is stopped at the end."""
    started: list[servers.Deployment] = []

    def _start(name: str, **kwargs) -> servers.Deployment:
        cls = servers.DEPLOYMENTS[name]
        workdir = servers.make_workdir(name)
        try:
            deployment = cls(workdir, **kwargs)
        except servers.NotInstalled as err:
            shutil.rmtree(workdir, ignore_errors=True)
            if os.environ.get("GLANCE_DEPLOY_REQUIRED") == "1":
                pytest.fail(str(err))
            pytest.skip(str(err))
        started.append(deployment)
        return deployment.start()

    yield _start
    for deployment in started:
        deployment.stop()
        if not os.environ.get(KEEP_ENV):
            shutil.rmtree(deployment.workdir, ignore_errors=True)


@pytest.fixture(scope="session", params=list(servers.DEPLOYMENTS))
def deployment(request, start_deployment) -> servers.Deployment:
    """One running deployment per parameter (standalone, apache, apache-prefix, uwsgi)."""
    return start_deployment(request.param)

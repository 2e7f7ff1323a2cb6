"""Shared fixtures.

* ``app``: the real paste pipeline in-process (WebTest), SQLite + file store in a
  temp dir, loaded once per session. ``override`` changes config for one test.
* ``server`` / ``start_server``: the real ``glance-api`` process on a loopback port.
"""

from pathlib import Path

import pytest
import webtest
from oslo_config import cfg

from tests import helpers

CONF = cfg.CONF


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    """The whole paste application, in-process, on a fresh SQLite database."""
    from glance import policy
    from glance.api import app as glance_app
    from glance.db.sqlalchemy import engine

    config = helpers.write_config(tmp_path_factory.mktemp("inproc"))
    engine.reset()
    policy.reset()
    wsgi_app = glance_app.init_app(config_files=[str(config)])
    return webtest.TestApp(wsgi_app)


@pytest.fixture
def override(app):
    """Set config overrides for one test: ``override(name, value, group=None)``."""
    changed: list[tuple[str, str | None]] = []

    def _set(name: str, value, group: str | None = None) -> None:
        CONF.set_override(name, value, group)
        changed.append((name, group))

    yield _set
    for name, group in changed:
        CONF.clear_override(name, group)


@pytest.fixture(scope="session")
def start_server(tmp_path_factory):
    """Factory: start a real glance-api with extra config sections; stopped at the end."""
    servers: list[helpers.Server] = []

    def _start(sections: dict | None = None, name: str = "server") -> helpers.Server:
        directory: Path = tmp_path_factory.mktemp(name)
        server = helpers.Server(helpers.write_config(directory, sections)).start()
        servers.append(server)
        return server

    yield _start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def server(start_server) -> helpers.Server:
    """One shared real glance-api server with the default (noauth, SQLite) config."""
    return start_server(name="shared")

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


# Every glance-api the factory started, and whether it lives for the whole session.
_STARTED: list[tuple[helpers.Server, bool]] = []


@pytest.fixture(scope="session")
def start_server(tmp_path_factory):
    """Factory: start a real glance-api with extra config sections. A server is stopped
    when the test module that started it ends (``keep=True``: at the end of the
    session, for session fixtures), so a run does not hold every module's servers."""

    def _start(sections: dict | None = None, name: str = "server",
               keep: bool = False) -> helpers.Server:
        directory: Path = tmp_path_factory.mktemp(name)
        server = helpers.Server(helpers.write_config(directory, sections)).start()
        _STARTED.append((server, keep))
        return server

    yield _start
    for server, _keep in _STARTED:
        server.stop()


@pytest.fixture(scope="module", autouse=True)
def _stop_module_servers():
    """Stop the servers a test module started once it is done (not the kept ones)."""
    first = len(_STARTED)
    yield
    for server, keep in _STARTED[first:]:
        if not keep:
            server.stop()


@pytest.fixture(scope="session")
def server(start_server) -> helpers.Server:
    """One shared real glance-api server with the default (noauth, SQLite) config."""
    return start_server(name="shared", keep=True)

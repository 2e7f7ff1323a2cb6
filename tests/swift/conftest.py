"""Fixtures of the Swift tier: a real Swift behind a real Keystone, glance on both.

Run with ``python3 tools/dev.py test tests/swift`` (marker ``swift``). The first
run installs Debian's Swift packages (root, apt-get) and Keystone's virtualenv
(tests/keystone/harness.py); later runs reuse both. Locally the tier is skipped
with the reason when Swift cannot be installed; with ``CI`` set it fails
instead. ``GLANCE_SKIP_SWIFT=1`` skips it on purpose.
"""

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import swiftclient
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from tests import helpers
from tests.keystone import harness as ks_harness
from tests.stores import suite
from tests.swift import harness

STORE_ID = "swift1"
CONTAINER = "glance"
LARGE_OBJECT_MB = 2  # images of 2 MiB and more (and of unknown size) are segmented
CHUNK_MB = 1


def pytest_configure(config):
    config.addinivalue_line("markers", "swift: needs a real Swift (tests/swift)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/swift" in str(item.fspath):
            item.add_marker(pytest.mark.swift)
            if os.environ.get("GLANCE_SKIP_SWIFT"):
                item.add_marker(pytest.mark.skip(reason="GLANCE_SKIP_SWIFT is set"))


@pytest.fixture(scope="session")
def swift_env(tmp_path_factory) -> harness.Deployment:
    """Keystone + Swift, up for the whole session (stopped by PID at the end)."""
    try:
        harness.install()
        ks_harness.install()
    except (RuntimeError, OSError) as err:
        if os.environ.get("CI"):
            pytest.fail(f"Swift could not be installed on CI: {err}")
        pytest.skip(f"Swift is not available here: {err}")
    deployment = harness.up(tmp_path_factory.mktemp("swift-env"))
    yield deployment
    deployment.stop()


def user_session(env: harness.Deployment, name: str, password: str,
                 project: str) -> ks_session.Session:
    auth = v3.Password(auth_url=env.auth_url, username=name, password=password,
                       project_name=project, user_domain_id="default",
                       project_domain_id="default")
    return ks_session.Session(auth=auth)


@pytest.fixture(scope="session")
def alice(swift_env) -> ks_session.Session:
    """alice: member of project-a (one keystoneauth session, one login)."""
    return user_session(swift_env, "alice", "pw-alice", "project-a")


@pytest.fixture
def alice_headers(alice) -> dict[str, str]:
    return {"X-Auth-Token": alice.get_token()}


@pytest.fixture(scope="session")
def glance_swift(swift_env) -> swiftclient.Connection:
    """swiftclient as glance's service user: the account single-tenant images go to."""
    sess = user_session(swift_env, "glance", harness.GLANCE_PASSWORD, "service")
    return swiftclient.Connection(session=sess)


def keystone_sections(env: harness.Deployment) -> dict[str, dict[str, object]]:
    """glance-api behind keystonemiddleware, with the glance service user."""
    return {
        "paste_deploy": {"flavor": "keystone"},
        "keystone_authtoken": {
            "www_authenticate_uri": env.keystone.url, "auth_url": env.keystone.url,
            "auth_type": "password", "username": "glance",
            "password": harness.GLANCE_PASSWORD, "project_name": "service",
            "user_domain_id": "default", "project_domain_id": "default",
            "region_name": ks_harness.REGION,
        },
    }


def swift_options(env: harness.Deployment, **extra: object) -> dict[str, object]:
    """A single-tenant swift store with Glance's (deprecated but still read) options."""
    return {
        "swift_store_auth_address": env.auth_url,
        "swift_store_user": "service:glance",
        "swift_store_key": harness.GLANCE_PASSWORD,
        "swift_store_container": CONTAINER,
        "swift_store_create_container_on_put": True,
        "swift_store_large_object_size": LARGE_OBJECT_MB,
        "swift_store_large_object_chunk_size": CHUNK_MB,
        "swift_store_region": ks_harness.REGION,
        **extra,
    }


def multi_store(env: harness.Deployment, work_dir: Path,
                store_options: dict[str, object], extra: dict | None = None,
                keystone: bool = True) -> dict[str, dict[str, object]]:
    """The suite's sections (swift1:swift default, spare:file), behind Keystone
    (``keystone``) or with the noauth flavor the data suite's headers need."""
    more = dict(keystone_sections(env)) if keystone else {}
    for name, values in (extra or {}).items():
        more.setdefault(name, {}).update(values)
    return suite.multi_store_sections(STORE_ID, "swift", store_options, work_dir, more)


@pytest.fixture(scope="session")
def start_glance(tmp_path_factory):
    """Factory: a real glance-api for a sections dict; all stopped at the end."""
    servers: list[helpers.Server] = []

    def _start(sections: dict, name: str = "glance-swift") -> helpers.Server:
        directory = tmp_path_factory.mktemp(name)
        resolved = sections(directory) if callable(sections) else sections
        server = helpers.Server(helpers.write_config(directory, resolved)).start()
        servers.append(server)
        return server

    yield _start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def store_server(swift_env, start_glance) -> helpers.Server:
    """For the data suite: glance-api (noauth: the suite sends trusted identity
    headers) with the single-tenant swift store, which logs in to Keystone as
    glance's service user, as the default backend."""
    return start_glance(lambda work: multi_store(
        swift_env, work, swift_options(swift_env), keystone=False), name="glance-suite")


@pytest.fixture(scope="session")
def keystone_server(swift_env, start_glance) -> helpers.Server:
    """glance-api behind keystonemiddleware, single-tenant swift as default backend."""
    return start_glance(lambda work: multi_store(swift_env, work, swift_options(swift_env)))


def objects_in(conn: swiftclient.Connection) -> set[str]:
    """Every 'container/object' of the connection's account."""
    names: set[str] = set()
    for container in conn.get_account(full_listing=True)[1]:
        for obj in conn.get_container(container["name"], full_listing=True)[1]:
            names.add(f"{container['name']}/{obj['name']}")
    return names


@pytest.fixture(scope="session")
def store_objects(glance_swift) -> Callable[[], set[str]]:
    """The objects (segments and manifests included) the store holds right now."""
    return lambda: objects_in(glance_swift)

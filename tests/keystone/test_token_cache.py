"""keystonemiddleware's token cache in a real memcached (``[keystone_authtoken]
memcached_servers``, what production deployments set).

Needs the ``memcached`` binary (Debian package ``memcached``, installed by
tools/install-deploy-deps.sh) and python-memcached (``glance[memcached]``, in the
test extras). Without the binary the test is skipped, or fails with
GLANCE_DEPLOY_REQUIRED=1 (CI).
"""

import os
import shutil
import socket
import subprocess

import memcache
import pytest
import requests

from tests import helpers
from tests.keystone import conftest as keystone_conftest
from tests.keystone import harness


@pytest.fixture(scope="module")
def memcached_port():
    binary = shutil.which("memcached")
    if binary is None:
        message = "memcached is not installed (apt-get install memcached)"
        if os.environ.get("GLANCE_DEPLOY_REQUIRED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    port = helpers.free_port()
    command = [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "16"]
    if os.geteuid() == 0:
        command += ["-u", "root"]  # memcached refuses to run as root without it
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def listening() -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    try:
        # (a memcache.Client would mark the server dead for 30 s after one refusal)
        assert helpers.wait_until(listening, timeout=20), "memcached did not start"
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def _stats(port: int) -> dict[str, int]:
    (_, stats), = memcache.Client([f"127.0.0.1:{port}"]).get_stats()
    return {key: int(value) for key, value in stats.items()
            if key in ("curr_items", "get_hits", "get_misses")}


def test_tokens_are_cached_in_memcached(start_server, keystone, identities, memcached_port):
    server = start_server({
        "paste_deploy": {"flavor": "keystone"},
        "keystone_authtoken": {
            "www_authenticate_uri": keystone.url, "auth_url": keystone.url,
            "auth_type": "password", "username": "glance",
            "password": keystone_conftest.SERVICE_PASSWORD, "project_name": "service",
            "user_domain_id": "default", "project_domain_id": "default",
            "region_name": harness.REGION,
            "memcached_servers": f"127.0.0.1:{memcached_port}",
        },
    }, name="glance-memcached")
    token = identities["alice-member"].token()
    before = _stats(memcached_port)
    first = requests.get(server.url + "/v2/images", headers={"X-Auth-Token": token},
                         timeout=30)
    assert first.status_code == 200, first.text
    cached = _stats(memcached_port)
    assert cached["curr_items"] > before["curr_items"]  # the validated token
    second = requests.get(server.url + "/v2/images", headers={"X-Auth-Token": token},
                          timeout=30)
    assert second.status_code == 200, second.text
    assert _stats(memcached_port)["get_hits"] > cached["get_hits"]
    assert "No module named" not in server.log_path.read_text()

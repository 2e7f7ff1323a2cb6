"""Our glance-api serves with OpenStack Glance 33's own shipped glance-api.conf.

The file is the one Glance's wheel installs (every option commented out, as
oslo-config-generator writes it), with only paths, the database URL and a
few values set the way Glance's documentation writes them: bracketed lists
for ``enabled_import_methods`` and ``[import_filtering_opts]``, Glance's
single-store staging ``node_staging_uri``. Image create, the import methods,
glance-direct and a web-download from a loopback HTTP source must work.
"""

import hashlib
import re
from pathlib import Path

import pytest
import requests

from tests import helpers
from tests.functional.http_source import DATA, HTTPSource
from tests.glance33 import harness

STAGED = b"staged through node_staging_uri " * 512


def fill_in(text: str, values: dict[str, dict[str, str]]) -> str:
    """``text`` with ``values`` set right under their section headers (appended when
    the file has no such section)."""
    for section, options in values.items():
        lines = "".join(f"{key} = {value}\n" for key, value in options.items())
        header = f"[{section}]\n"
        if re.search(rf"^\[{re.escape(section)}\]$", text, re.MULTILINE):
            text = re.sub(rf"^\[{re.escape(section)}\]\n", header + lines, text, count=1,
                          flags=re.MULTILINE)
        else:
            text += "\n" + header + lines
    return text


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("glance33-conf")


@pytest.fixture(scope="module")
def server(glance33, workdir):
    shipped = (harness.etc_dir() / "glance-api.conf").read_text()
    assert "[import_filtering_opts]" not in shipped  # Glance ships it elsewhere
    config = workdir / "glance-api.conf"
    config.write_text(fill_in(shipped, {
        "DEFAULT": {
            "bind_port": str(helpers.free_port()),
            "state_path": str(workdir / "state"),
            "enabled_import_methods": "[glance-direct,web-download]",
            "node_staging_uri": f"file://{workdir / 'staging'}/",
        },
        "database": {"connection": f"sqlite:///{workdir / 'glance.sqlite'}"},
        "glance_store": {"filesystem_store_datadir": f"{workdir / 'images'}/"},
        "import_filtering_opts": {"allowed_hosts": "[127.0.0.1]", "allowed_ports": "[]"},
    }))
    (workdir / "staging").mkdir()
    running = helpers.Server(config).start()
    yield running
    running.stop()


def _create(server) -> requests.Response:
    response = requests.post(f"{server.url}/v2/images", headers=helpers.MEMBER,
                             json={"name": "g33", "disk_format": "raw",
                                   "container_format": "bare"})
    assert response.status_code == 201, response.text
    return response


def _wait_active(server, image_id: str) -> dict:
    def image() -> dict:
        return requests.get(f"{server.url}/v2/images/{image_id}",
                            headers=helpers.MEMBER).json()

    helpers.wait_until(lambda: image()["status"] == "active"
                       or bool(image().get("os_glance_failed_import")), timeout=60)
    found = image()
    assert found["status"] == "active", found
    return found


def test_starts_clean(server):
    log = server.log_path.read_text()
    assert "Not supported by glance" not in log
    assert "Not used by glance" not in log
    assert "Traceback" not in log


def test_create_offers_the_configured_import_methods(server):
    response = _create(server)
    assert response.headers["OpenStack-image-import-methods"] == "glance-direct,web-download"
    info = requests.get(f"{server.url}/v2/info/import", headers=helpers.MEMBER).json()
    assert info["import-methods"]["value"] == ["glance-direct", "web-download"]


def test_web_download_from_a_loopback_source(server):
    image_id = _create(server).json()["id"]
    with HTTPSource() as source:
        response = requests.post(
            f"{server.url}/v2/images/{image_id}/import", headers=helpers.MEMBER,
            json={"method": {"name": "web-download", "uri": source.url("/data")}})
        assert response.status_code == 202, response.text
        image = _wait_active(server, image_id)
    assert image["size"] == len(DATA)
    assert image["checksum"] == hashlib.md5(DATA, usedforsecurity=False).hexdigest()


def test_glance_direct_stages_under_node_staging_uri(server, workdir):
    image_id = _create(server).json()["id"]
    response = requests.put(f"{server.url}/v2/images/{image_id}/stage", data=STAGED,
                            headers={**helpers.MEMBER,
                                     "Content-Type": "application/octet-stream"})
    assert response.status_code == 204, response.text
    assert (workdir / "staging" / image_id).read_bytes() == STAGED
    response = requests.post(f"{server.url}/v2/images/{image_id}/import",
                             headers=helpers.MEMBER, json={"method": {"name": "glance-direct"}})
    assert response.status_code == 202, response.text
    image = _wait_active(server, image_id)
    assert image["size"] == len(STAGED)
    assert not (workdir / "staging" / image_id).exists()

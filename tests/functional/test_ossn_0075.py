"""OSSN-0075: image ids stay reserved after `glance-manage db purge` and
`db purge_images_table` (glance keeps tombstones of purged ids)."""

import subprocess
import sys
import uuid

import pytest
import requests

from tests import helpers


def _manage(server, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "glance.cmd.manage", "--config-file",
                           str(server.config_path), *args], capture_output=True, text=True,
                          timeout=120)


def _commands_exist(server) -> bool:
    help_text = _manage(server, "db", "--help")
    return "purge_images_table" in help_text.stdout + help_text.stderr


def test_deleted_then_purged_ids_are_still_refused(server):
    if not _commands_exist(server):
        pytest.skip("glance-manage db purge / purge_images_table are not built yet")
    image_id = str(uuid.uuid4())
    url = server.url + "/v2/images"
    assert requests.post(url, json={"id": image_id}, headers=helpers.MEMBER,
                         timeout=30).status_code == 201
    assert requests.delete(f"{url}/{image_id}", headers=helpers.MEMBER,
                           timeout=30).status_code == 204

    def create(headers) -> int:
        return requests.post(url, json={"id": image_id}, headers=headers,
                             timeout=30).status_code

    assert create(helpers.MEMBER) == 409
    purge = _manage(server, "db", "purge", "--age_in_days", "0", "--max_rows", "-1")
    assert purge.returncode == 0, purge.stderr
    assert create(helpers.OTHER_MEMBER) == 409
    purge = _manage(server, "db", "purge_images_table", "--age_in_days", "0",
                    "--max_rows", "-1")
    assert purge.returncode == 0, purge.stderr
    assert create(helpers.MEMBER) == 409
    assert create(helpers.ADMIN) == 409
    assert requests.get(f"{url}/{image_id}", headers=helpers.ADMIN,
                        timeout=30).status_code == 404

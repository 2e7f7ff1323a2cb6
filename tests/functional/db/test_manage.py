"""``glance-manage`` end to end on each database: check codes through the phases,
purge and purge_images_table, and no id reuse through the real API afterwards."""

import json
import uuid

import pytest
import requests

from tests import helpers
from tests.functional.db.manage_helpers import manage, write_config


@pytest.fixture
def config(db_url, tmp_path):
    return write_config(tmp_path, db_url)


def test_sync_check_codes_through_phases(config):
    result = manage(config, "db", "sync", "--check")
    assert result.returncode == 3, result.stderr
    assert "first step is to run `glance-manage db expand`" in result.stdout
    lines = [line.split()[1] for line in result.stdout.splitlines()
             if line.strip()[:2].rstrip(".").isdigit()]
    assert lines[0] == "expand" and lines[-1] == "contract"
    assert manage(config, "db", "check").returncode == 3
    assert manage(config, "db", "contract").returncode == 1
    assert manage(config, "db", "migrate").returncode == 1

    assert manage(config, "db", "expand").returncode == 0
    result = manage(config, "db", "sync", "--check", "--format", "json")
    report = json.loads(result.stdout)
    assert result.returncode == 4 and report["exit_code"] == 4
    assert [p["phase"] for p in report["pending"]] == ["migrate", "contract", "contract",
                                                      "contract"]
    refused = manage(config, "db", "contract")
    assert refused.returncode == 1
    assert "Run `glance-manage db migrate` first" in refused.stderr
    assert "Traceback" not in refused.stderr

    assert manage(config, "db", "migrate").returncode == 0
    assert manage(config, "db", "check").returncode == 5
    assert manage(config, "db", "contract").returncode == 0
    result = manage(config, "db", "sync", "--check")
    assert result.returncode == 0
    assert "Database is up to date. No upgrades needed." in result.stdout
    assert manage(config, "db_check").returncode == 0
    version = manage(config, "db", "version")
    # One head per branch: the contract head, and the expand revisions no contract
    # depends on yet.
    assert version.stdout.strip() == "0008_contract_list_indexes, 0009_expand_member_scope"
    assert manage(config, "db_sync").returncode == 0


def test_sync_runs_all_phases(config):
    result = manage(config, "db", "sync")
    assert result.returncode == 0, result.stderr
    assert "Database is synced successfully." in result.stdout
    assert manage(config, "db", "check").returncode == 0
    assert "No migrations needed" in manage(config, "db", "sync").stdout


def _create(server, image_id, status=201, project=helpers.PROJECT_1):
    response = requests.post(f"{server.url}/v2/images", json={"id": image_id, "name": "x"},
                             headers=helpers.identity("member,reader", project=project),
                             timeout=30)
    assert response.status_code == status, response.text
    return response


def test_purged_image_ids_are_never_reused(config, start_server, db_url, backend):
    assert manage(config, "db", "sync").returncode == 0
    server = start_server({"database": {"connection": db_url}}, name=f"purge-{backend}")
    image_id = str(uuid.uuid4())
    _create(server, image_id)
    _create(server, str(uuid.uuid4()))  # a live image: purge must leave it alone
    requests.post(f"{server.url}/v2/images/{image_id}/tags/t1", headers=helpers.MEMBER,
                  timeout=30)
    assert requests.delete(f"{server.url}/v2/images/{image_id}", headers=helpers.MEMBER,
                           timeout=30).status_code == 204
    _create(server, image_id, 409)

    result = manage(config, "db", "purge", "--age_in_days", "0", "--max_rows", "-1")
    assert result.returncode == 0, result.stderr
    assert "from image_tags" in result.stdout
    conflict = _create(server, image_id, 409, project=helpers.PROJECT_2)
    assert f"Image ID {image_id} already exists!" in conflict.text

    result = manage(config, "db", "purge_images_table", "--age_in_days", "0",
                    "--max_rows", "-1")
    assert result.returncode == 0, result.stderr
    assert "Purged 1 row(s) from images" in result.stdout
    _create(server, image_id, 409)
    _create(server, image_id, 409, project=helpers.PROJECT_2)
    listing = requests.get(f"{server.url}/v2/images", headers=helpers.MEMBER, timeout=30)
    assert len(listing.json()["images"]) == 1


def test_purge_respects_age_and_max_rows(config):
    assert manage(config, "db", "sync").returncode == 0
    result = manage(config, "db", "purge", "--age_in_days", "30", "--max_rows", "5")
    assert result.returncode == 0
    assert manage(config, "db", "purge_images_table").returncode == 0


@pytest.mark.parametrize("args", [["--age_in_days", "-1"], ["--age_in_days", "1.5"],
                                  ["--age_in_days", "abc"], ["--max_rows", "0"],
                                  ["--max_rows", "-2"], ["--max_rows", "x"]])
@pytest.mark.parametrize("command", ["purge", "purge_images_table"])
def test_purge_bad_arguments_are_usage_errors(tmp_path, command, args):
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'g.sqlite'}")
    result = manage(config, "db", command, *args)
    assert result.returncode == 2
    assert "usage:" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("connection", [
    "mysql+pymysql://root@127.0.0.1:1/glance",
    "mysql+pymysql://root@127.0.0.1:3306/glance_no_such_db_zz",
    "postgresql+psycopg2://postgres@127.0.0.1:5432/glance_no_such_db_zz",
    "sqlite:////nonexistent/dir/glance.sqlite",
    "nosuchdialect://x",
    "not a url",
])
@pytest.mark.parametrize("command", [["db", "check"], ["db", "sync"], ["db", "purge"]])
def test_bad_connection_is_one_line_error(tmp_path, connection, command):
    result = manage(write_config(tmp_path, connection), *command)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ERROR: "), result.stderr

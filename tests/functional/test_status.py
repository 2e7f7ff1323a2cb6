"""``glance-status upgrade check``: the real command against real databases and files.

Exit codes as oslo.upgradecheck's (Glance's): 0 success, 1 warning, 2 failure.
"""

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests import helpers
from tests.functional.db.conftest import BACKENDS, create_database

STATUS = str(helpers.ROOT / ".venv" / "bin" / "glance-status")
MANAGE = str(helpers.ROOT / ".venv" / "bin" / "glance-manage")
GLANCE_CHECKS = ["Sheepdog Driver Removal", "Policy File JSON to YAML Migration",
                 "Config option owner_is_tenant removal"]


def _config(directory: Path, sections: dict | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    images = directory / "images"
    images.mkdir(exist_ok=True)
    return helpers.write_config(directory, {
        "glance_store": {"filesystem_store_datadir": images}, **(sections or {})})


def status(config: Path, *extra: str) -> tuple[int, dict[str, tuple[int, str]], str]:
    """(exit code, {check: (result, details)}, the table as printed)."""
    result = subprocess.run([STATUS, "--config-file", str(config), "upgrade", "check",
                             "--json", *extra], capture_output=True, text=True, timeout=60)
    checks = {entry["check"]: (entry["result"], entry["details"] or "")
              for entry in json.loads(result.stdout)["checks"]}
    table = subprocess.run([STATUS, "--config-file", str(config), "upgrade", "check"],
                           capture_output=True, text=True, timeout=60)
    assert table.returncode == result.returncode, table.stdout
    assert "Traceback" not in result.stderr + table.stdout + table.stderr
    return result.returncode, checks, table.stdout


def _sync(config: Path) -> None:
    subprocess.run([MANAGE, "--config-file", str(config), "db", "sync"], check=True,
                   capture_output=True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_database_at_head_then_not_synced(tmp_path, backend):
    databases = create_database(backend, tmp_path)
    url = next(databases)
    try:
        config = _config(tmp_path / "etc", {"database": {"connection": url}})
        code, checks, table = status(config)
        assert list(checks)[-3:] == GLANCE_CHECKS
        if backend == "sqlite":  # glance-api creates and migrates the file itself
            assert code == 0, checks
            assert "glance-api creates it" in checks["Database schema"][1]
        else:  # an empty database: expand pending
            assert code == 2, checks
            assert checks["Database schema"][0] == 2
            assert "glance-manage db sync" in checks["Database schema"][1]
            assert "Result: Failure" in table
        _sync(config)
        code, checks, table = status(config)
        assert code == 0, checks
        assert all(result == 0 for result, _ in checks.values()), checks
        assert "Result: Success" in table and "Failure" not in table
    finally:
        next(databases, None)


def test_empty_sqlite_file_is_a_warning(tmp_path):
    database = tmp_path / "glance.sqlite"
    database.write_bytes(b"")
    config = _config(tmp_path / "etc", {"database": {"connection": f"sqlite:///{database}"}})
    code, checks, _table = status(config)
    assert code == 1 and checks["Database schema"][0] == 1, checks
    assert "applies them" in checks["Database schema"][1]


@pytest.mark.mysql
def test_unreachable_database_fails_quickly(tmp_path):
    url = f"mysql+pymysql://root@127.0.0.1:{helpers.free_port()}/glance"
    config = _config(tmp_path / "etc", {"database": {"connection": url}})
    started = time.monotonic()
    code, checks, _table = status(config)
    assert time.monotonic() - started < 20  # two runs, each failing at once
    assert code == 2 and "cannot be used" in checks["Database schema"][1], checks


def test_bad_policy_file(tmp_path):
    config = _config(tmp_path / "etc", {"oslo_policy": {"policy_file": tmp_path / "p.yaml"}})
    policy = tmp_path / "p.yaml"
    policy.write_text("get_image: [unclosed\n")
    code, checks, _table = status(config)
    assert code == 2 and checks["Policy file"][0] == 2 and "YAML" in checks["Policy file"][1]
    policy.write_text('get_image: "role:reader and and"\n')
    code, checks, _table = status(config)
    assert code == 2 and checks["Policy file"][0] == 2, checks
    policy.write_text('get_imag: "role:reader"\nmy_alias: "role:x"\n'
                      'add_image: "rule:my_alias"\n')
    code, checks, _table = status(config)
    assert code == 1 and checks["Policy file"][0] == 1, checks
    assert "get_imag" in checks["Policy file"][1] and "my_alias" not in checks[
        "Policy file"][1]
    policy.write_text('get_image: "role:reader"\n')
    code, checks, _table = status(config)
    assert code == 0, checks


def test_json_policy_file_fails_glances_check(tmp_path):
    policy = tmp_path / "policy.json"
    policy.write_text('{"get_image": "role:reader"}')
    config = _config(tmp_path / "etc", {"oslo_policy": {"policy_file": policy}})
    code, checks, _table = status(config)
    assert code == 2 and checks["Policy File JSON to YAML Migration"][0] == 2, checks


def test_unwritable_store_directory(tmp_path):
    """The store directory on a read-only file system (root may write anywhere else)."""
    config = _config(tmp_path / "etc")
    images = tmp_path / "etc" / "images"
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs",
                              str(images)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
    try:
        code, checks, _table = status(config)
        assert code == 2, checks
        assert checks["Image stores"][0] == 2 and "not writable" in checks["Image stores"][1]
    finally:
        subprocess.run(["umount", "-l", str(images)], check=False)


def test_store_directory_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    config = _config(tmp_path / "etc", {
        "glance_store": {"filesystem_store_datadir": blocker / "images"}})
    code, checks, _table = status(config)
    assert code == 2 and "cannot be created" in checks["Image stores"][1], checks


def test_multi_store_directories_and_other_stores(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    config = _config(tmp_path / "etc", {
        "DEFAULT": {"enabled_backends": "good:file, bad:file, web:http"},
        "glance_store": {"default_backend": "good"},
        "good": {"filesystem_store_datadir": tmp_path / "good"},
        "bad": {"filesystem_store_datadir": blocker / "x"}})
    code, checks, _table = status(config)
    assert code == 2, checks
    details = checks["Image stores"][1]
    assert "bad:" in details and "good:" not in details and "web" not in details


def test_unsupported_options(tmp_path):
    config = _config(tmp_path / "etc", {"DEFAULT": {"http_retries": 7, "no_such_option": 1}})
    code, checks, _table = status(config)
    assert code == 1 and checks["Configuration options"][0] == 1, checks
    assert "http_retries" in checks["Configuration options"][1]
    assert "no_such_option" in checks["Configuration options"][1]
    config = _config(tmp_path / "etc2", {"DEFAULT": {"metadata_encryption_key": "k" * 32}})
    code, checks, _table = status(config)
    assert code == 2 and "will not start" in checks["Configuration options"][1], checks
    config = _config(tmp_path / "etc3", {"DEFAULT": {"workers": "many"}})
    code, checks, _table = status(config)
    assert code == 2 and "would not start" in checks["Configuration options"][1], checks


def test_glance_checks(tmp_path):
    config = _config(tmp_path / "etc", {"DEFAULT": {"owner_is_tenant": "False"},
                                        "glance_store": {"stores": "file,sheepdog"}})
    code, checks, _table = status(config)
    assert code == 2
    assert checks["Config option owner_is_tenant removal"][0] == 2
    assert checks["Sheepdog Driver Removal"][0] == 2


def test_missing_config_file_is_one_line(tmp_path):
    result = subprocess.run([STATUS, "--config-file", str(tmp_path / "nope.conf"), "upgrade",
                             "check"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 255
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1

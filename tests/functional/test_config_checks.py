"""Start-up checks of the configuration, for every entry point, with real processes.

A bad value (wrong type, not one of the choices, out of range, a malformed
list or a bad list item) stops ``glance-api``, the WSGI entry
(``glance.wsgi.api``, as uwsgi and mod_wsgi import it) and ``glance-manage``
with a non-zero exit and one line on stderr naming the option, its group, the
file and what is allowed. Options glance does not support are warned about
once, or refused (glance/conf/unsupported.py).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests import helpers

BAD_VALUES = [
    # (section, option, value, words the message must hold)
    ("DEFAULT", "show_image_direct_url", "maybe", "true or false"),
    ("DEFAULT", "api_limit_max", "lots", "an integer of at least 1"),
    ("DEFAULT", "image_cache_driver", "memcached", "one of: sqlite, xattr, centralized_db"),
    ("DEFAULT", "limit_param_default", "0", "an integer of at least 1"),
    ("import_filtering_opts", "allowed_ports", "[80,99999]", "an integer from 1 to 65535"),
]
ENTRY_POINTS = ("glance-api", "wsgi", "glance-manage")


def _config(directory: Path, section: str, option: str, value: str) -> Path:
    return helpers.write_config(directory, {section: {option: value}})


def run_entry_point(name: str, config: Path, timeout: float = 120
                    ) -> subprocess.CompletedProcess:
    """Start ``name`` with ``config``; it is expected to stop by itself."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if name == "glance-api":
        args = [sys.executable, "-m", "glance.cmd.api", "--config-file", str(config)]
    elif name == "wsgi":
        args = [sys.executable, "-c", "import glance.wsgi.api"]
        env["OS_GLANCE_CONFIG_FILE"] = str(config)
    else:
        args = [sys.executable, "-m", "glance.cmd.manage", "--config-file", str(config),
                "db", "version"]
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=config.parent)


def assert_one_line_error(result: subprocess.CompletedProcess, *words: str) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0, result.stderr
    assert 1 <= len(lines) <= 3, result.stderr
    assert "Traceback" not in result.stderr
    message = next(line for line in lines if "ERROR" in line or "ConfigError" in line)
    for word in words:
        assert word in message, message
    return message


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
@pytest.mark.parametrize(("section", "option", "value", "allowed"), BAD_VALUES,
                         ids=[f"{s}.{o}" for s, o, _, _ in BAD_VALUES])
def test_bad_value_stops_with_one_line(tmp_path, entry_point, section, option, value,
                                       allowed):
    config = _config(tmp_path, section, option, value)
    result = run_entry_point(entry_point, config)
    message = assert_one_line_error(result, f"[{section}] {option} = {value}", str(config),
                                    allowed)
    assert "allowed:" in message


@pytest.mark.parametrize(("section", "option", "value", "words"), [
    ("import_filtering_opts", "allowed_hosts", "[127.0.0.1", 'end with "]"'),
    ("DEFAULT", "enabled_import_methods", "[glance-direct,ftp]", "but found 'ftp'"),
    ("oslo_messaging_rabbit", "heartbeat_rate", "often", "an integer"),
    ("keystone_authtoken", "insecure", "perhaps", "true or false"),
], ids=["malformed-list", "bad-list-item", "library-option", "keystonemiddleware-option"])
def test_more_bad_values_stop_glance_api(tmp_path, section, option, value, words):
    config = _config(tmp_path, section, option, value)
    assert_one_line_error(run_entry_point("glance-api", config), f"[{section}] {option}",
                          words)


def test_an_unreadable_file_is_one_line(tmp_path):
    config = helpers.write_config(tmp_path)
    config.write_text(config.read_text() + "\nthis is not ini\n")
    assert_one_line_error(run_entry_point("glance-api", config), str(config))


@pytest.mark.parametrize("entry_point", ("glance-api", "wsgi"))
@pytest.mark.parametrize(("section", "option", "value"), [
    ("DEFAULT", "metadata_encryption_key", "0123456789abcdef0123456789abcdef"),
], ids=["metadata-encryption"])
def test_unsupported_security_options_refuse_to_start(tmp_path, entry_point, section,
                                                      option, value):
    config = _config(tmp_path, section, option, value)
    message = assert_one_line_error(run_entry_point(entry_point, config),
                                    f"[{section}] {option}", "will not start")
    if option == "metadata_encryption_key":
        assert value not in message  # a secret is never shown


@pytest.mark.parametrize("entry_point", ("glance-api", "wsgi"))
@pytest.mark.parametrize("value", ["ftp://node1", "node1:9292", "http://", "http://h:port"])
def test_a_self_reference_url_that_is_not_http_stops_start_up(tmp_path, entry_point, value):
    # A string option as in Glance; glance checks it at start-up, Glance on first use.
    config = _config(tmp_path, "DEFAULT", "worker_self_reference_url", value)
    assert_one_line_error(run_entry_point(entry_point, config),
                          "[DEFAULT] worker_self_reference_url", repr(value), "http://")


def test_glance_manage_checks_values_but_serves_no_api(tmp_path):
    refused_by_the_api = _config(tmp_path, "DEFAULT", "metadata_encryption_key",
                                 "0123456789abcdef0123456789abcdef")
    (tmp_path / "state").mkdir()
    result = run_entry_point("glance-manage", refused_by_the_api)
    assert result.returncode == 0, result.stderr


def test_no_op_plugin_and_glance_syntax_start(start_server):
    server = start_server({
        "DEFAULT": {"enabled_import_methods": "[glance-direct,web-download]"},
        "image_import_opts": {"image_import_plugins": "[no_op]"},
        "import_filtering_opts": {"allowed_hosts": "[127.0.0.1]", "allowed_ports": "[]"},
    }, name="glance-syntax")
    info = requests.get(f"{server.url}/v2/info/import", headers=helpers.ADMIN).json()
    assert info["import-methods"]["value"] == ["glance-direct", "web-download"]
    assert "Not supported" not in server.log_path.read_text()


def test_unsupported_and_unused_options_are_warned_once(start_server):
    server = start_server({
        "DEFAULT": {"enabled_import_methods": "[glance-direct,glance-download]",
                    "http_retries": 5, "workers": 2},
        "profiler": {"enabled": "true", "hmac_keys": "not-to-be-logged"},
        "oslo_reports": {"log_dir": "/tmp"},
        "barbican": {"barbican_endpoint": "http://127.0.0.1:9311"},  # read: castellan
        "wsgi": {"task_pool_threads": "16"},  # Glance's default: nothing to report
    }, name="warned")
    info = requests.get(f"{server.url}/v2/info/import", headers=helpers.ADMIN).json()
    assert info["import-methods"]["value"] == ["glance-direct", "glance-download"]
    log = server.log_path.read_text()
    warnings = [line for line in log.splitlines() if "WARNING glance.conf.unsupported" in line]
    assert len(warnings) == 3, warnings
    assert "[DEFAULT] http_retries (location imports are not retried)" in log
    assert "[profiler] enabled, hmac_keys (requests are not profiled)" in log
    assert "Not used by glance, ignored: [oslo_reports] log_dir" in log
    assert "[barbican]" not in log
    assert "not-to-be-logged" not in log and "[wsgi]" not in log


def test_keystone_plugin_options_are_known_and_checked(start_server):
    server = start_server({
        "paste_deploy": {"flavor": "keystone"},
        "keystone_authtoken": {"www_authenticate_uri": "http://127.0.0.1:1",
                               "auth_url": "http://127.0.0.1:1", "auth_type": "password",
                               "username": "glance", "password": "secret",
                               "project_name": "service", "user_domain_id": "default",
                               "project_domain_id": "default"},
    }, name="keystone-plugin")
    assert requests.get(f"{server.url}/v2/images").status_code == 401
    assert "Not used by glance" not in server.log_path.read_text()


def test_an_unknown_keystone_auth_plugin_stops_glance_api(tmp_path):
    config = helpers.write_config(tmp_path, {
        "paste_deploy": {"flavor": "keystone"},
        "keystone_authtoken": {"auth_type": "passwrd"}})
    assert_one_line_error(run_entry_point("glance-api", config),
                          "[keystone_authtoken] auth_type = passwrd")


LIMITS_AUTH = {"auth_type": "password", "auth_url": "http://127.0.0.1:5000",
               "username": "glance", "password": "p", "user_domain_id": "default"}


@pytest.mark.parametrize(("oslo_limit", "words"), [
    ({}, ("[oslo_limit] endpoint_id", "use_keystone_limits")),
    ({"endpoint_id": "e1"}, ("[oslo_limit] auth_type",)),
    ({"endpoint_id": "e1", "auth_type": "no-such-plugin"},
     ("[oslo_limit] auth_type = no-such-plugin", "no such keystoneauth plugin")),
    ({"endpoint_id": "e1", "auth_type": "password", "username": "glance"},
     ("[oslo_limit] auth_type = password needs", "auth_url")),
    ({**LIMITS_AUTH, "endpoint_id": "e1", "endpoint_interface": "sideways"},
     ("[oslo_limit] endpoint_interface",)),
], ids=["no-endpoint", "no-auth-type", "unknown-plugin", "missing-auth-url",
        "bad-interface"])
@pytest.mark.parametrize("entry_point", ("glance-api", "wsgi"))
def test_unusable_oslo_limit_stops_start_up_in_one_line(tmp_path, entry_point, oslo_limit,
                                                       words):
    config = helpers.write_config(tmp_path, {"DEFAULT": {"use_keystone_limits": "true"},
                                             "oslo_limit": oslo_limit})
    assert_one_line_error(run_entry_point(entry_point, config), *words)


def test_oslo_limit_is_not_checked_while_keystone_limits_are_off(tmp_path):
    """[oslo_limit] as Glance's sample leaves it does not stop a node without limits."""
    config = helpers.write_config(tmp_path, {"oslo_limit": {"endpoint_id": "e1"}})
    result = run_entry_point("wsgi", config)
    assert result.returncode == 0, result.stderr
    assert "oslo_limit" not in result.stderr

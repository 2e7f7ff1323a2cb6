"""Start-up errors of the real ``glance-api``: one line naming what is wrong, exit non-zero.

Each class of error an operator can make (a paste file or flavor, a missing
optional package, a database URL, a store or staging directory, a policy file,
the listening port, a config file) stops the master before any worker is
forked, with at most three lines on stderr, no traceback (unless ``--debug``)
and the option or file named. Missing packages are simulated with
``tests/hide_modules`` (a sitecustomize that makes the named modules
unimportable), so the tests do not depend on what happens to be installed.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests import helpers

HIDE_MODULES = Path(__file__).resolve().parent.parent / "hide_modules"
KEYSTONE = {"paste_deploy": {"flavor": "keystone"},
            "keystone_authtoken": {"www_authenticate_uri": "http://127.0.0.1:1",
                                   "auth_url": "http://127.0.0.1:1",
                                   "auth_type": "password", "username": "glance",
                                   "password": "secret", "project_name": "service",
                                   "user_domain_id": "default",
                                   "project_domain_id": "default"}}


def run_glance_api(config: Path, *args: str, hidden: str = "", timeout: float = 120
                   ) -> subprocess.CompletedProcess:
    """Run ``glance-api --config-file config``; it is expected to stop by itself."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if hidden:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HIDE_MODULES),
                                                          env.get("PYTHONPATH")]))
        env["GLANCE_TEST_HIDDEN_MODULES"] = hidden
    command = [sys.executable, "-m", "glance.cmd.api", "--config-file", str(config), *args]
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              env=env, cwd=config.parent)
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"glance-api did not stop by itself:\n{err.stderr}")


def assert_start_up_error(result: subprocess.CompletedProcess, *words: str) -> str:
    """Non-zero exit, at most 3 lines on stderr, no traceback anywhere; the ERROR line
    holds every one of ``words``. Returns that line."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0, result.stderr
    assert 1 <= len(lines) <= 3, result.stderr
    assert "Traceback" not in result.stderr + result.stdout, result.stderr + result.stdout
    message = next((line for line in lines if line.startswith("ERROR")), None)
    assert message is not None, result.stderr
    for word in words:
        assert word in message, message
    return message


def _config(tmp_path: Path, sections: dict | None = None) -> Path:
    return helpers.write_config(tmp_path, sections)


# -- paste --------------------------------------------------------------------------------

def test_unknown_flavor(tmp_path):
    config = _config(tmp_path, {"paste_deploy": {"flavor": "bogus"}})
    assert_start_up_error(run_glance_api(config), "[paste_deploy] flavor", "bogus")


def test_missing_paste_file(tmp_path):
    missing = tmp_path / "nowhere" / "glance-api-paste.ini"
    config = _config(tmp_path, {"paste_deploy": {"flavor": "noauth",
                                                 "config_file": str(missing)}})
    assert_start_up_error(run_glance_api(config), "[paste_deploy] config_file", str(missing))


def test_paste_file_that_is_not_ini(tmp_path):
    paste = tmp_path / "paste.ini"
    paste.write_text("this is not\nan ini file\n")
    config = _config(tmp_path, {"paste_deploy": {"flavor": "noauth",
                                                 "config_file": str(paste)}})
    assert_start_up_error(run_glance_api(config), str(paste))


def test_paste_file_naming_a_missing_factory(tmp_path):
    paste = tmp_path / "paste.ini"
    paste.write_text("[app:glance-api]\npaste.app_factory = glance.nosuch:factory\n")
    config = _config(tmp_path, {"paste_deploy": {"flavor": "noauth",
                                                 "config_file": str(paste)}})
    assert_start_up_error(run_glance_api(config), str(paste), "glance.nosuch")


# -- optional packages --------------------------------------------------------------------

@pytest.mark.parametrize(("sections", "hidden", "words"), [
    ({**KEYSTONE, "keystone_authtoken": {**KEYSTONE["keystone_authtoken"],
                                         "memcached_servers": "127.0.0.1:11211"}},
     "memcache", ["[keystone_authtoken] memcached_servers", "python-memcached",
                  "pip install 'glance[memcached]'"]),
    ({**KEYSTONE, "keystone_authtoken": {**KEYSTONE["keystone_authtoken"],
                                         "memcached_servers": "127.0.0.1:11211",
                                         "memcache_sasl_enabled": "true",
                                         "memcache_username": "u",
                                         "memcache_password": "p"}},
     "bmemcached", ["[keystone_authtoken] memcache_sasl_enabled",
                    "python-binary-memcached", "pip install 'glance[memcached]'"]),
    ({"glance_store": {"stores": "file,http,s3", "default_store": "file"}},
     "boto3,botocore", ["[glance_store] stores", "s3", "boto3",
                        "pip install 'glance_store[s3]'"]),
    ({"DEFAULT": {"enabled_backends": "fs:file,objects:swift"},
      "glance_store": {"default_backend": "fs"}},
     "swiftclient", ["[DEFAULT] enabled_backends", "swift", "python-swiftclient",
                     "pip install 'glance_store[swift]'"]),
    ({"DEFAULT": {"enabled_backends": "ceph:rbd"},
      "glance_store": {"default_backend": "ceph"}},
     "rados,rbd", ["[DEFAULT] enabled_backends", "rbd", "python3-rados"]),
    ({"oslo_messaging_notifications": {"driver": "messagingv2",
                                       "transport_url": "kafka://127.0.0.1:9092"}},
     "confluent_kafka", ["[oslo_messaging_notifications] transport_url", "kafka",
                         "confluent-kafka"]),
    ({"DEFAULT": {"use_journal": "true"}},
     "systemd", ["[DEFAULT] use_journal", "systemd"]),
], ids=["memcached", "memcached-sasl", "s3", "swift", "rbd", "kafka", "journal"])
def test_missing_optional_package(tmp_path, sections, hidden, words):
    result = run_glance_api(_config(tmp_path, sections), hidden=hidden)
    assert_start_up_error(result, *words, "not installed")


def test_memcached_servers_without_keystone_needs_no_package(tmp_path):
    """With flavor noauth keystonemiddleware never runs: nothing to install."""
    port = helpers.free_port()
    config = helpers.write_config(tmp_path, {
        "keystone_authtoken": {"memcached_servers": "127.0.0.1:11211"}}, port=port)
    server = helpers.Server(config)
    try:
        server.start()
    finally:
        server.stop()


# -- database -----------------------------------------------------------------------------

@pytest.mark.parametrize(("connection", "hidden", "words"), [
    ("not a url", "", ["[database] connection", "not a database URL"]),
    ("mysql+nosuchdriver://glance:secret@127.0.0.1/glance", "",
     ["[database] connection", "mysql+nosuchdriver", "unknown database driver"]),
    ("postgresql+psycopg2://glance:secret@127.0.0.1/glance", "psycopg2",
     ["[database] connection", "psycopg2", "not installed", "pip install"]),
    ("mysql+pymysql://glance:secret@127.0.0.1/glance", "pymysql",
     ["[database] connection", "PyMySQL", "not installed", "pip install"]),
], ids=["malformed", "unknown-driver", "no-psycopg2", "no-pymysql"])
def test_database_url(tmp_path, connection, hidden, words):
    config = _config(tmp_path, {"database": {"connection": connection}})
    message = assert_start_up_error(run_glance_api(config, hidden=hidden), *words)
    assert "secret" not in message


# -- directories --------------------------------------------------------------------------

def _unwritable_dir(tmp_path: Path) -> str:
    """An existing directory this process cannot create files in."""
    if os.geteuid() == 0:
        return "/sys/kernel"  # sysfs refuses new files, even to root
    directory = tmp_path / "read-only"
    directory.mkdir()
    directory.chmod(0o555)
    return str(directory)


@pytest.mark.parametrize("where", ["file-store", "multi-store", "staging", "cache"])
@pytest.mark.parametrize("problem", ["not-creatable", "not-writable"])
def test_directory(tmp_path, where, problem):
    if problem == "not-creatable":
        blocker = tmp_path / "a-file"
        blocker.write_text("")
        path = str(blocker / "data")
    else:
        path = _unwritable_dir(tmp_path)
    sections, option = {
        "file-store": ({"glance_store": {"filesystem_store_datadir": path}},
                       "[glance_store] filesystem_store_datadir"),
        "multi-store": ({"DEFAULT": {"enabled_backends": "fast:file"},
                         "glance_store": {"default_backend": "fast"},
                         "fast": {"filesystem_store_datadir": path}},
                        "[fast] filesystem_store_datadir"),
        "staging": ({"os_glance_staging_store": {"filesystem_store_datadir": path}},
                    "[os_glance_staging_store] filesystem_store_datadir"),
        "cache": ({"DEFAULT": {"image_cache_dir": path}}, "[DEFAULT] image_cache_dir"),
    }[where]
    assert_start_up_error(run_glance_api(_config(tmp_path, sections)), option, path)


# -- policy -------------------------------------------------------------------------------

@pytest.mark.parametrize("content", ['"get_image": [\n', "{{{: bad", '- a list\n'],
                         ids=["unterminated", "bad-yaml", "not-a-mapping"])
def test_unparseable_policy_file(tmp_path, content):
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(content)
    config = _config(tmp_path, {"oslo_policy": {"policy_file": str(policy_file)}})
    assert_start_up_error(run_glance_api(config), "[oslo_policy] policy_file",
                          str(policy_file))


def test_unreadable_policy_file(tmp_path):
    policy_file = tmp_path / "policy.yaml"
    policy_file.mkdir()  # readable by nobody as a file, root included
    config = _config(tmp_path, {"oslo_policy": {"policy_file": str(policy_file)}})
    assert_start_up_error(run_glance_api(config), "[oslo_policy] policy_file",
                          str(policy_file), "cannot read")


def test_unparseable_file_in_policy_dirs(tmp_path):
    policy_dir = tmp_path / "policy.d"
    policy_dir.mkdir()
    (policy_dir / "10-bad.yaml").write_text("{{{: bad")
    config = _config(tmp_path, {"oslo_policy": {"policy_dirs": str(policy_dir)}})
    assert_start_up_error(run_glance_api(config), "[oslo_policy] policy_dirs",
                          str(policy_dir / "10-bad.yaml"))


def test_a_missing_policy_file_means_the_defaults(start_server, tmp_path):
    """oslo.policy's rule: no file is no override (Glance starts the same way)."""
    start_server({"oslo_policy": {"policy_file": str(tmp_path / "absent.yaml")}},
                 name="no-policy-file")


# -- the listening socket, the config file, the stores ------------------------------------

# -- property protections -----------------------------------------------------------------

@pytest.mark.parametrize(("content", "words"), [
    (None, ["cannot be read"]),
    ("[.*]\ncreate = @\nread = @\n", ["[.*] has no update, delete"]),
    ("[x(]\ncreate = @\nread = @\nupdate = @\ndelete = @\n",
     ["not a regular expression"]),
], ids=["missing", "missing-keys", "bad-regex"])
def test_unusable_property_protection_file(tmp_path, content, words):
    path = tmp_path / "property-protections.conf"
    if content is not None:
        path.write_text(content)
    config = _config(tmp_path, {"DEFAULT": {"property_protection_file": str(path)}})
    assert_start_up_error(run_glance_api(config), "[DEFAULT] property_protection_file",
                          str(path), *words)


def test_port_in_use(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = helpers.write_config(tmp_path, port=port)
        assert_start_up_error(run_glance_api(config), "[DEFAULT] bind_port",
                              f"127.0.0.1:{port}", "in use")


def test_missing_config_file(tmp_path):
    config = _config(tmp_path)
    missing = tmp_path / "absent.conf"
    result = run_glance_api(config, "--config-file", str(missing))
    assert_start_up_error(result, str(missing))


def test_store_set_up_error_stops_the_master(tmp_path):
    """What only building the stores finds (glance_store's own checks): one line."""
    config = _config(tmp_path, {"DEFAULT": {"enabled_backends": "fs:file"}})
    assert_start_up_error(run_glance_api(config), "image stores", "default_backend")


def test_debug_shows_the_traceback(tmp_path):
    config = _config(tmp_path, {"DEFAULT": {"enabled_backends": "fs:file"}})
    result = run_glance_api(config, "--debug")
    assert result.returncode != 0
    assert "Traceback" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("ERROR: ")


# -- logging ------------------------------------------------------------------------------

def test_log_file_that_cannot_be_opened(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    log_file = blocker / "glance-api.log"
    config = _config(tmp_path, {"DEFAULT": {"log_file": str(log_file)}})
    assert_start_up_error(run_glance_api(config), "[DEFAULT] log_file", str(log_file))


def test_bad_logging_config_file(tmp_path):
    logging_conf = tmp_path / "logging.conf"
    logging_conf.write_text("not an ini file\n")
    config = _config(tmp_path, {"DEFAULT": {"log_config_append": str(logging_conf)}})
    assert_start_up_error(run_glance_api(config), "[DEFAULT] log_config_append",
                          str(logging_conf))


# -- the WSGI entry (uwsgi, mod_wsgi) runs the same checks ---------------------------------

@pytest.mark.parametrize(("sections", "hidden", "words"), [
    ({**KEYSTONE, "keystone_authtoken": {**KEYSTONE["keystone_authtoken"],
                                         "memcached_servers": "127.0.0.1:11211"}},
     "memcache", ["[keystone_authtoken] memcached_servers", "python-memcached"]),
    ({"DEFAULT": {"enabled_backends": "fs:file"}}, "", ["image stores", "default_backend"]),
    ({"oslo_policy": {"policy_file": "policy.yaml"}}, "", ["[oslo_policy] policy_file"]),
    ({"database": {"connection": "mysql+nosuchdriver://u:p@127.0.0.1/glance"}}, "",
     ["[database] connection", "unknown database driver"]),
], ids=["memcached", "store-set-up", "policy", "database"])
def test_wsgi_entry_stops_with_one_line(tmp_path, sections, hidden, words):
    if "oslo_policy" in sections:
        (tmp_path / "policy.yaml").mkdir()  # found next to the config, but not a file
    config = _config(tmp_path, sections)
    env = {**os.environ, "OS_GLANCE_CONFIG_FILE": str(config), "PYTHONUNBUFFERED": "1"}
    if hidden:
        env["PYTHONPATH"] = str(HIDE_MODULES)
        env["GLANCE_TEST_HIDDEN_MODULES"] = hidden
    result = subprocess.run([sys.executable, "-c", "import glance.wsgi.api"],
                            capture_output=True, text=True, timeout=120, env=env,
                            cwd=tmp_path)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0 and len(lines) == 1, result.stderr
    assert lines[0].startswith("glance.conf.validate.ConfigError: "), lines
    for word in words:
        assert word in lines[0], lines[0]


# -- hierarchical image access -----------------------------------------------------------

@pytest.mark.parametrize(("sections", "words"), [
    ({"DEFAULT": {"hierarchical_image_access": "True"}},
     ["hierarchical_image_access", "flavor = keystone"]),
    ({"DEFAULT": {"hierarchical_image_access": "True"},
      "paste_deploy": {"flavor": "keystone"}},
     ["hierarchical_image_access", "[keystone_authtoken] auth_type"]),
    ({"DEFAULT": {"hierarchical_access_cache_ttl": "-1"}},
     ["hierarchical_access_cache_ttl", "-1"]),
])
def test_hierarchical_access_needs_keystone(tmp_path, sections, words):
    assert_start_up_error(run_glance_api(_config(tmp_path, sections)), *words)

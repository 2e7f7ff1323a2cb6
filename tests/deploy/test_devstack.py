"""The devstack plugin (devstack/), phase by phase, in a harness.

A whole devstack cannot run here, so ``devstack/stubs.sh`` stands in for the
few devstack functions the plugin calls (iniset, is_service_enabled, the
keystone/database/apache helpers, run_process...). Each phase then runs as
devstack runs it — settings, then ``plugin.sh PHASE SUBPHASE`` — as the stack
user, in a temporary directory; the tests check the files each phase writes,
the devstack calls it makes, and that the API it starts answers.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests import helpers
from tests.deploy import servers

ROOT = helpers.ROOT
PLUGIN_DIR = ROOT / "devstack"
HARNESS_DIR = Path(__file__).resolve().parent / "devstack"


class Devstack:
    """One harness directory and the environment every phase runs with."""

    def __init__(self, workdir: Path, user: str, group: str, **settings: str) -> None:
        self.workdir, self.user, self.group = workdir, user, group
        self.apache_port = helpers.free_port()
        self.glance_port = helpers.free_port()
        paths = {name: workdir / sub for name, sub in {
            "DEST": "opt/stack", "DATA_DIR": "data", "HOME": "home",
            "GLANCE_CONF_DIR": "etc/glance", "GLANCE_APACHE_MODS_DIR": "apache/mods",
            "APACHE_SITES_DIR": "apache/sites-available",
            "APACHE_ENABLED_DIR": "apache/sites-enabled", "APACHE_LOG_DIR": "apache/logs",
            "STUB_DIR": "stub"}.items()}
        for name, path in paths.items():
            if name != "GLANCE_CONF_DIR":
                path.mkdir(parents=True, exist_ok=True)
        (workdir / "etc").mkdir(exist_ok=True)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
            **{name: str(path) for name, path in paths.items()},
            "GLANCE_DIR": str(ROOT), "PYTHON": sys.executable, "STUB_PYTHON": sys.executable,
            "STACK_USER": user, "SERVICE_HOST": "127.0.0.1",
            "SERVICE_LISTEN_ADDRESS": "127.0.0.1", "REGION_NAME": "RegionOne",
            "SERVICE_PASSWORD": "secret", "KEYSTONE_SERVICE_URI": "http://127.0.0.1:5000",
            "ENABLED_SERVICES": "g-api", "GLANCE_SERVICE_PORT": str(self.glance_port),
            "GLANCE_MOD_WSGI_FROM_PIP": "True", "APACHE_PORT": str(self.apache_port),
            "APACHE_ENVVARS": str(workdir / "apache" / "envvars"),
            "STUB_LOG": str(workdir / "stub" / "calls.log"), "SERVICE_TIMEOUT": "120",
            **settings,
        }
        if self.env.get("GLANCE_USE_IMAGE_PREFIX", "True") == "True" \
                and self.env.get("GLANCE_USE_MOD_WSGI", "True") == "True":
            # The private httpd's main server stands in for port 80.
            self.env["GLANCE_SERVICE_HOST"] = f"127.0.0.1:{self.apache_port}"
            self.url = f"http://127.0.0.1:{self.apache_port}/image"
        else:
            self.url = f"http://127.0.0.1:{self.glance_port}"
        servers.chown_tree(workdir, user, group)

    @property
    def conf_dir(self) -> Path:
        return Path(self.env["GLANCE_CONF_DIR"])

    def run(self, *phase: str) -> subprocess.CompletedProcess:
        """``plugin.sh`` with the given phase, as the stack user; fails on error."""
        kwargs = {}
        if os.geteuid() == 0:
            kwargs = {"user": self.user, "group": self.group, "extra_groups": []}
        result = subprocess.run(
            ["bash", str(HARNESS_DIR / "run-phase.sh"), str(PLUGIN_DIR), *phase],
            env=self.env, cwd=self.workdir, capture_output=True, text=True, timeout=300,
            **kwargs)
        assert result.returncode == 0, (
            f"plugin.sh {' '.join(phase)} failed:\n{result.stdout}\n{result.stderr}\n"
            f"{self.logs()}")
        return result

    def calls(self) -> list[str]:
        log = Path(self.env["STUB_LOG"])
        return log.read_text().splitlines() if log.exists() else []

    def conf(self) -> configparser.ConfigParser:
        parser = configparser.ConfigParser(interpolation=None)
        assert parser.read(self.conf_dir / "glance-api.conf")
        return parser

    def logs(self) -> str:
        texts = []
        for path in [*self.workdir.glob("apache/logs/*"), *self.workdir.glob("stub/*.log")]:
            texts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(texts)

    def cleanup(self) -> None:
        """Stop whatever the stubs left running (they run in our harness only)."""
        for pidfile in (self.workdir / "stub" / "apache" / "httpd.pid",
                        self.workdir / "stub" / "g-api.pid"):
            if pidfile.exists():
                try:
                    os.kill(int(pidfile.read_text()), signal.SIGTERM)
                except (ProcessLookupError, ValueError):
                    pass
        if not os.environ.get("GLANCE_DEPLOY_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture
def devstack():
    """Factory of harnesses: ``devstack(**settings)``; each cleaned up after the test."""
    made: list[Devstack] = []

    def _make(**settings: str) -> Devstack:
        try:
            user, group = servers.service_user()
            if settings.get("GLANCE_USE_MOD_WSGI", "True") == "True":
                servers.ApacheDeployment(Path("/tmp"))  # raises NotInstalled if missing
            elif not os.access(servers.VENV / "bin" / "uwsgi", os.X_OK):
                raise servers.NotInstalled(f"no uwsgi; {servers.INSTALL_HINT}")
        except servers.NotInstalled as err:
            if os.environ.get("GLANCE_DEPLOY_REQUIRED") == "1":
                pytest.fail(str(err))
            pytest.skip(str(err))
        harness = Devstack(servers.make_workdir("devstack"), user, group, **settings)
        made.append(harness)
        return harness

    yield _make
    for harness in made:
        harness.cleanup()


def _answers(url: str) -> int | None:
    try:
        return requests.get(url, timeout=5).status_code
    except requests.ConnectionError:
        return None


def _answers_after_stop(url: str, expected: int | None, wait: float = 30) -> int | None:
    """What ``url`` answers once the server has had ``wait`` s to settle after a stop."""
    deadline = time.monotonic() + wait
    while (status := _answers(url)) != expected and time.monotonic() < deadline:
        time.sleep(0.5)
    return status


def _no_placeholders(path: Path) -> None:
    text = path.read_text()
    assert not re.findall(r"%[A-Z][A-Z_]*%", text), path


def test_settings_defaults():
    script = (f"source {HARNESS_DIR}/stubs.sh; DEST=/opt/stack; DATA_DIR=/opt/stack/data; "
              f"source {PLUGIN_DIR}/settings; "
              'echo "$ENABLED_SERVICES|$GLANCE_USE_MOD_WSGI|$GLANCE_USE_IMAGE_PREFIX|'
              '$GLANCE_SERVICE_PORT|$GLANCE_CONF_DIR|$GLANCE_STATE_DIR|$GLANCE_DIR"')
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                         env={"PATH": os.environ["PATH"], "ENABLED_SERVICES": "key"},
                         check=True).stdout.strip()
    assert out == ("key,g-api|True|True|9292|/etc/glance|/opt/stack/data/glance|"
                   "/opt/stack/glance")


def test_mod_wsgi_image_prefix_lifecycle(devstack):
    """The default: Apache mod_wsgi at /image of the (port 80) main server."""
    stack = devstack()
    stack.run("stack", "install")
    calls = stack.calls()
    assert f"setup_develop {ROOT}" in calls and "pip_install mod_wsgi" in calls
    assert "enable_apache_mod wsgi" in calls
    load = Path(stack.env["GLANCE_APACHE_MODS_DIR"]) / "wsgi.load"
    assert load.read_text().startswith("LoadModule wsgi_module ")

    stack.run("stack", "post-config")
    conf = stack.conf()
    assert conf["paste_deploy"]["flavor"] == "noauth"
    assert conf["paste_deploy"]["config_file"] == str(stack.conf_dir / "glance-api-paste.ini")
    assert conf["database"]["connection"] == f"sqlite:///{stack.env['DATA_DIR']}/glance.sqlite"
    assert conf["DEFAULT"]["state_path"] == f"{stack.env['DATA_DIR']}/glance"
    assert conf["DEFAULT"]["public_endpoint"] == stack.url
    assert (stack.conf_dir / "glance-api-paste.ini").exists()
    site = Path(stack.env["APACHE_SITES_DIR"]) / "glance-api.conf"
    _no_placeholders(site)
    text = site.read_text()
    assert "WSGIScriptAlias /image " in text and "WSGIChunkedRequest On" in text
    assert f"user={stack.user} " in text and "processes=2 threads=4" in text
    with sqlite3.connect(f"{stack.env['DATA_DIR']}/glance.sqlite") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert {"images", "image_properties", "alembic_version"} <= tables
    assert "recreate_database glance" in stack.calls()
    assert not [c for c in stack.calls() if c.startswith(("create_service_user",
                                                         "get_or_create"))]

    stack.run("stack", "extra")
    assert "enable_apache_site glance-api" in stack.calls()
    assert _answers(stack.url + "/healthcheck") == 200
    versions = requests.get(stack.url + "/", timeout=10).json()["versions"]
    assert versions[0]["links"][0]["href"] == stack.url + "/v2/"
    created = requests.post(stack.url + "/v2/images", headers={**helpers.ADMIN,
                            "Content-Type": "application/json"},
                            data=iter([b'{"name": "devstack",', b' "disk_format": "raw"}']),
                            timeout=30)
    assert created.status_code == 201, created.text

    stack.run("unstack")
    assert "disable_apache_site glance-api" in stack.calls()
    assert _answers_after_stop(stack.url + "/healthcheck", 404) == 404  # Apache up, glance gone

    stack.run("clean")
    assert not stack.conf_dir.exists() and not site.exists()
    assert not Path(stack.env["DATA_DIR"], "glance").exists()


def test_mod_wsgi_port_vhost_with_keystone(devstack):
    """GLANCE_USE_IMAGE_PREFIX=False: its own vhost on GLANCE_SERVICE_PORT; Keystone on."""
    stack = devstack(GLANCE_USE_IMAGE_PREFIX="False", ENABLED_SERVICES="key,keystone,g-api")
    stack.run("stack", "install")
    stack.run("stack", "post-config")
    conf = stack.conf()
    assert conf["paste_deploy"]["flavor"] == "keystone"
    assert conf["keystone_authtoken"]["username"] == "glance"
    calls = stack.calls()
    assert f"configure_keystone_authtoken_middleware {stack.conf_dir}/glance-api.conf " \
           "glance" in calls
    assert "create_service_user glance" in calls
    assert "get_or_create_service glance image Glance Image Service" in calls
    assert f"get_or_create_endpoint image RegionOne {stack.url}" in calls
    site = Path(stack.env["APACHE_SITES_DIR"]) / "glance-api.conf"
    _no_placeholders(site)
    assert f"Listen 127.0.0.1:{stack.glance_port}" in site.read_text()

    stack.run("stack", "extra")
    assert _answers(stack.url + "/healthcheck") == 200
    # auth_token is in the pipeline: no token, no images.
    assert _answers(stack.url + "/v2/images") == 401

    stack.run("unstack")
    assert _answers_after_stop(stack.url + "/healthcheck", None) is None
    stack.run("clean")
    assert not stack.conf_dir.exists()


def test_uwsgi_lifecycle(devstack):
    """GLANCE_USE_MOD_WSGI=False: uwsgi on GLANCE_SERVICE_PORT under run_process."""
    stack = devstack(GLANCE_USE_MOD_WSGI="False")
    stack.run("stack", "install")
    assert "pip_install uwsgi" in stack.calls()
    assert not [c for c in stack.calls() if "mod_wsgi" in c or "apache" in c]

    stack.run("stack", "post-config")
    ini = stack.conf_dir / "glance-api-uwsgi.ini"
    _no_placeholders(ini)
    text = ini.read_text()
    assert f"http-socket = 127.0.0.1:{stack.glance_port}" in text
    assert f"env = OS_GLANCE_CONFIG_DIR={stack.conf_dir}" in text
    assert "module = glance.wsgi.api:application" in text

    stack.run("stack", "extra")
    assert any(c.startswith("run_process g-api ") and c.endswith(f"--ini {ini}")
               for c in stack.calls())
    assert _answers(stack.url + "/healthcheck") == 200
    created = requests.post(stack.url + "/v2/images", headers={**helpers.ADMIN,
                            "Content-Type": "application/json"},
                            data=iter([b'{"name": "uwsgi",', b' "disk_format": "raw"}']),
                            timeout=30)
    assert created.status_code == 201, created.text

    stack.run("unstack")
    assert "stop_process g-api" in stack.calls()
    assert _answers_after_stop(stack.url + "/healthcheck", None) is None
    stack.run("clean")
    assert not stack.conf_dir.exists()

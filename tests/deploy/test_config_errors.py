"""A configuration glance cannot serve with, under uwsgi: no app, one line per process in the log.

The WSGI entry's import fails with one ``ConfigError: ...`` line (no traceback),
and with the shipped ``need-app = true`` uwsgi stops instead of serving
requests that would fail (tests/functional/test_config_checks.py runs the same
checks on the import itself, for every kind of bad value).
"""

import os
import shutil

import pytest

from tests.deploy import servers


@pytest.fixture
def uwsgi_refused():
    workdir = servers.make_workdir("uwsgi-refused")
    try:
        deployment = servers.UwsgiDeployment(
            workdir, config={"DEFAULT": {"use_keystone_limits": "true"}})
    except servers.NotInstalled as err:
        shutil.rmtree(workdir, ignore_errors=True)
        if os.environ.get("GLANCE_DEPLOY_REQUIRED") == "1":
            pytest.fail(str(err))
        pytest.skip(str(err))
    yield deployment
    deployment.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def test_uwsgi_loads_no_app_and_says_why_in_one_line(uwsgi_refused):
    process = uwsgi_refused.start(wait=False).process
    assert process.wait(timeout=60) != 0
    log = (uwsgi_refused.workdir / "logs" / "uwsgi.log").read_text()
    # lazy-apps: each worker imports the app, and says it once
    errors = [line for line in log.splitlines() if "ConfigError" in line]
    assert len(errors) == uwsgi_refused.processes, log
    assert len(set(errors)) == 1 and "[DEFAULT] use_keystone_limits" in errors[0]
    assert "Traceback" not in log

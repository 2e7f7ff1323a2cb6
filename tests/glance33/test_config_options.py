"""Every option OpenStack Glance 33's glance-api holds exists here and parses the same.

Both sides are dumped by tests/glance33/options.py, each in its own virtualenv,
after building its WSGI application: Glance's process options plus every
option of the ``oslo.config.opts`` namespaces its sample-config generator lists;
ours after ``glance.api.app.init_app``. Then, option by option: the class, the
type (bounds, item type, choices, min, max ...), the default, the deprecated
names, the flags, and what the type makes of a corpus of strings must match,
except for the documented differences below.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from glance.conf import libraries
from tests import helpers
from tests.glance33 import harness, options

ROOT = helpers.ROOT
SCRIPT = Path(options.__file__)

# Options another work item defines; compared by that work item's own tests.
OWNED_ELSEWHERE = {
    # the scrubber (glance/conf/scrubber.py)
    "DEFAULT scrub_time", "DEFAULT scrub_pool_size", "DEFAULT wakeup_time",
    "DEFAULT daemon",
    # paste compatibility (glance/conf/paste.py)
    "paste_deploy flavor", "paste_deploy config_file", "DEFAULT allow_anonymous_access",
}
# Groups of libraries glance does not depend on; a key set in them is reported at
# start-up as not used (glance/conf/unsupported.py UNUSED_SECTIONS).
NOT_DEPENDENCIES = {
    "oslo_reports": "oslo.reports", "os_brick": "os-brick",
}
# Defaults that depend on the run, not on the definition.
RUN_DEPENDENT_DEFAULTS = {
    "DEFAULT config_file": "the file the run was started with",
    "oslo_messaging_rabbit hostname": "the host name",
    "oslo_messaging_rabbit processname": "the process name",
}
# Deliberate differences: (key, field) -> why. None today; keep it that way.
ALLOWED: dict[tuple[str, str], str] = {}
# Every bounds=True list here is glance.conf.types.BracketsOptionalList: it parses
# every bracketed value as Glance does and also takes the value without brackets.
LENIENT_LIST = "BracketsOptionalList"


def _dynamic(key: str, entry: dict) -> bool:
    """Options registered only for a given configuration, in both services."""
    group = key.split(" ", 1)[0]
    if entry["namespace"] == "glance.multi_store":
        return True  # per-store sections of enabled_backends (glance_store, same version)
    # keystoneauth plugin options of [oslo_limit]: registered for its auth_type
    return entry["namespace"] == "oslo.limit" and group == "oslo_limit" and not entry["live"]


def _last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def glance_options(glance33, tmp_path_factory) -> dict:
    workdir = tmp_path_factory.mktemp("glance33-options")
    code = (f"import runpy, sys; sys.argv = ['options.py', 'glance33', {str(workdir)!r}]; "
            f"runpy.run_path({str(SCRIPT)!r}, run_name='__main__')")
    return _last_json(harness.run_python(code))


@pytest.fixture(scope="module")
def our_options(tmp_path_factory) -> dict:
    workdir = tmp_path_factory.mktemp("our-options")
    result = subprocess.run([sys.executable, str(SCRIPT), "ours", str(workdir)],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return _last_json(result.stdout)


@pytest.fixture(scope="module")
def compared(glance_options) -> dict:
    """Glance's options this test holds us to."""
    return {key: entry for key, entry in glance_options.items()
            if key not in OWNED_ELSEWHERE
            and key.split(" ", 1)[0] not in NOT_DEPENDENCIES
            and not _dynamic(key, entry)}


def test_the_comparison_covers_glance(glance_options, compared):
    # A dump that lost Glance's own options would make every other test pass.
    assert len(glance_options) > 500
    for key in ("DEFAULT enabled_import_methods", "import_filtering_opts allowed_hosts",
                "image_format vmdk_allowed_types", "profiler enabled", "wsgi task_pool_threads",
                "oslo_limit endpoint_id", "oslo_messaging_rabbit heartbeat_rate",
                "keystone_authtoken www_authenticate_uri", "cors allow_headers"):
        assert key in compared
    assert glance_options["DEFAULT enabled_import_methods"]["type"]["bounds"] is True


def test_every_glance_option_exists_here(compared, our_options):
    missing = sorted(key for key in compared if key not in our_options)
    assert missing == []


def _expected_type(glance_type: dict, our_type: dict) -> dict:
    if glance_type.get("bounds") and our_type.get("subclass") == LENIENT_LIST:
        return {**glance_type, "subclass": LENIENT_LIST}
    return glance_type


def test_definitions_match_glance(compared, our_options):
    differences = []
    for key, theirs in sorted(compared.items()):
        ours = our_options.get(key)
        if ours is None:
            continue  # reported by test_every_glance_option_exists_here
        for field in ("opt", "dest", "type", "default", "deprecated", "secret", "required",
                      "deprecated_for_removal", "mutable", "positional"):
            expected = theirs[field]
            if field == "type":
                expected = _expected_type(expected, ours["type"])
            if field == "default" and key in RUN_DEPENDENT_DEFAULTS:
                continue
            if (key, field) in ALLOWED or ours[field] == expected:
                continue
            differences.append(f"[{key}] {field}: Glance {expected!r}, ours {ours[field]!r}")
    assert differences == []


def test_values_parse_as_in_glance(compared, our_options):
    differences = []
    for key, theirs in sorted(compared.items()):
        ours = our_options.get(key)
        if ours is None:
            continue
        lenient = ours["type"].get("subclass") == LENIENT_LIST
        for text, expected in theirs["parse"].items():
            got = ours["parse"][text]
            if got == expected:
                continue
            if lenient and expected is None and not text.strip().startswith("["):
                continue  # the brackets left out: accepted here, refused by Glance
            differences.append(f"[{key}] {text!r}: Glance {expected}, ours {got}")
    assert differences == []


def test_bracketless_lists_parse_like_their_bracketed_form(our_options):
    lenient = {key: entry for key, entry in our_options.items()
               if entry["type"].get("subclass") == LENIENT_LIST}
    assert "DEFAULT enabled_import_methods" in lenient
    for key, entry in lenient.items():
        for text, value in entry["parse"].items():
            if text.strip() and not text.strip().startswith("["):
                assert value == entry["parse"].get(f"[{text}]", value), key


def test_our_library_namespaces_are_glances(glance33):
    generator = harness.sdist_etc_dir() / "oslo-config-generator" / "glance-api.conf"
    listed = [line.split("=", 1)[1].strip() for line in generator.read_text().splitlines()
              if line.startswith("namespace")]
    assert set(options.GLANCE_NAMESPACES) == set(listed) | {"glance"}
    not_ours = {"glance.api", "glance.store", "glance.multi_store",
                "os_brick", "oslo.limit", "oslo.reports"}
    assert set(libraries.NAMESPACES) == set(listed) - not_ours

"""Our policy defaults against Glance 33's, as operators see them.

``oslopolicy-sample-generator --namespace glance`` runs once from Glance 33's
virtualenv and once from ours; the two files must list the same rules with the
same check strings, scopes, operations and deprecations (descriptions are ours
and may differ). The image target our code hands to oslo.policy must carry the
keys Glance's does, so that a check string written for Glance reads the same
values here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from glance.context import RequestContext
from glance.domain import image as domain
from glance.services import access
from tests.glance33 import harness

# Rules that are ours only. Their defaults refer to the Glance rule checked before
# them, so a caller that never uses them sees Glance's behaviour
# (doc/source/admin/policy.rst, "Differences from Glance 33").
OURS_ONLY = {
    "add_image_with_id": "checked after add_image when the body names an id; default "
                         "rule:add_image",
    "delete_deactivated_image": "checked after delete_image for a deactivated image; "
                                "default rule:delete_image",
    "add_member_subtree": "hierarchical image access (opt-in): checked after add_member "
                          "for a subtree share; default rule:add_member",
    "add_member_domain": "hierarchical image access (opt-in): checked after add_member "
                         "for a domain share; default rule:add_member",
}
# Rules of Glance's that differ here, with the reason. None left.
DIFFERENT: dict[str, str] = {}

_RULE = re.compile(r'^#"(?P<name>[^"]+)": "(?P<check>.*)"$')
_OPERATION = re.compile(r"^# (?P<method>[A-Z]+)  (?P<path>/\S*)$")
_SCOPE = re.compile(r"^# Intended scope\(s\): (?P<scopes>.*)$")
_DEPRECATED = re.compile(r'^"(?P<name>[^"]+)":"(?P<check>.*?)" has been deprecated since '
                         r"(?P<since>\S+) in favor of ")
_FOR_REMOVAL = re.compile(r'^"(?P<name>[^"]+)" has been deprecated since (?P<since>\S+?)\.'
                          r"(\s|$)")


def parse_sample(text: str) -> dict[str, dict]:
    """The rules of a YAML policy sample: name -> check, operations, scopes, deprecation.

    The generator writes one block per rule (comment lines, then ``#"name": "check"``)
    and, for a deprecated default, a ``# DEPRECATED`` block right after it; a rule
    deprecated for removal starts its own block with ``# DEPRECATED``.
    """
    rules: dict[str, dict] = {}
    last = None
    for block in text.split("\n\n"):
        lines = [line for line in block.strip("\n").splitlines() if line.strip()]
        if not lines:
            continue
        prose = " ".join(line[2:] if line.startswith("# ") else line.lstrip("#")
                         for line in lines[1:])
        found = next(filter(None, map(_RULE.match, lines)), None)
        if found:
            last = found["name"]
            rules[last] = {
                "check": found["check"],
                "operations": [(m["method"], m["path"])
                               for m in map(_OPERATION.match, lines) if m],
                "scopes": next((m["scopes"] for m in map(_SCOPE.match, lines) if m), None),
                "deprecated": None, "deprecated_for_removal": None}
            if lines[0] == "# DEPRECATED":
                removal = _FOR_REMOVAL.match(prose)
                assert removal and removal["name"] == last, block
                rules[last]["deprecated_for_removal"] = removal["since"]
        elif lines[0] == "# DEPRECATED":
            deprecated = _DEPRECATED.match(prose)
            assert deprecated and deprecated["name"] == last, block
            rules[last]["deprecated"] = (deprecated["check"], deprecated["since"])
    return rules


def _sample(generator: Path, tmp_path: Path, name: str) -> dict[str, dict]:
    out = tmp_path / name
    subprocess.run([str(generator), "--namespace", "glance", "--output-file", str(out)],
                   check=True, capture_output=True, cwd=tmp_path, timeout=300)
    return parse_sample(out.read_text())


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> tuple[dict, dict]:
    tmp_path = tmp_path_factory.mktemp("policy-samples")
    glance = _sample(harness.bin_path("oslopolicy-sample-generator"), tmp_path, "g33.yaml")
    ours = _sample(Path(sys.executable).parent / "oslopolicy-sample-generator", tmp_path,
                   "ours.yaml")
    return glance, ours


def test_the_parser_reads_every_rule(samples):
    glance, _ours = samples
    assert len(glance) == 67
    assert glance["get_task"]["deprecated"] == ("rule:default", "X")
    assert glance["modify_task"]["deprecated_for_removal"] == "W"
    assert glance["cache_delete"]["operations"] == [("DELETE", "/v2/cache"),
                                                    ("DELETE", "/v2/cache/{image_id}")]
    assert glance["context_is_admin"]["scopes"] is None


def test_every_glance_rule_is_here(samples):
    glance, ours = samples
    assert sorted(set(glance) - set(ours)) == []


def test_rules_of_our_own_are_the_allowed_ones(samples):
    glance, ours = samples
    assert sorted(set(ours) - set(glance)) == sorted(OURS_ONLY)


@pytest.mark.parametrize("field", ["check", "scopes", "operations", "deprecated",
                                   "deprecated_for_removal"])
def test_defaults_are_glances(samples, field):
    glance, ours = samples
    differences = {name: (rule[field], ours[name][field]) for name, rule in glance.items()
                   if name in ours and name not in DIFFERENT
                   and rule[field] != ours[name][field]}
    assert differences == {}


# -- the image target ----------------------------------------------------------------

GLANCE_TARGET = """
import datetime, json
from glance import domain
from glance.api.policy import ImageTarget
when = datetime.datetime(2024, 1, 2, 3, 4, 5)
image = domain.Image(image_id="11111111-2222-3333-4444-555555555555", status="active",
                     created_at=when, updated_at=when, name="n", visibility="shared",
                     owner="p1", disk_format="raw", container_format="bare", size=3,
                     min_disk=1, protected=True, extra_properties={"os_distro": "x"},
                     member="p2")
target = ImageTarget(image)
keys = sorted(set(target))
print(json.dumps({"keys": keys, "values": {
    key: ("%(" + key + ")s") % target for key in keys + ["id", "member_id"]
    if key not in ("tags", "extra_properties")}}))
"""


def test_image_target_has_glances_keys_and_values():
    glance = harness.run_json(GLANCE_TARGET)
    when = datetime(2024, 1, 2, 3, 4, 5)
    image = domain.Image(id="11111111-2222-3333-4444-555555555555", status="active",
                         created_at=when, updated_at=when, name="n", visibility="shared",
                         owner="p1", disk_format="raw", container_format="bare", size=3,
                         min_disk=1, protected=True, extra={"os_distro": "x"})
    ours = access.policy_target(RequestContext(project_id="p2", roles=["member"]), image)
    # Glance also answers "id" and "member_id" (aliases of image_id and member).
    assert sorted(set(ours) - {"id", "member_id"}) == glance["keys"]
    rendered = {key: f"%({key})s" % ours for key in glance["values"]}
    assert rendered == glance["values"]


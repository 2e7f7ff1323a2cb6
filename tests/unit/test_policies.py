"""Policy defaults in code: names, scopes, the generators and the shipped sample."""

import subprocess
import sys
from pathlib import Path

import pytest
from oslo_policy import policy as oslo_policy

from glance import policies

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RULES = {rule.name: rule for rule in policies.list_rules()}
# The names operators and tools know from Glance, and ours for caller-chosen ids.
REQUIRED = [
    "context_is_admin", "default", "add_image", "get_image", "get_images", "modify_image",
    "delete_image", "delete_deactivated_image", "upload_image", "download_image",
    "deactivate", "reactivate", "publicize_image", "communitize_image", "add_member",
    "get_member", "get_members", "modify_member", "delete_member", "get_image_location",
    "set_image_location", "delete_image_location", "add_image_with_id", "get_task",
    "get_tasks", "add_task", "modify_task", "tasks_api_access",
    "cache_image", "cache_list", "cache_delete",
]


def test_rule_names_are_unique():
    names = [rule.name for rule in policies.list_rules()]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("name", REQUIRED)
def test_required_rule_exists(name):
    assert name in RULES


def test_metadef_rules_are_registered():
    assert any(name.startswith(("get_metadef", "add_metadef", "modify_metadef"))
               for name in RULES)


@pytest.mark.parametrize("name", [n for n, r in RULES.items()
                                  if isinstance(r, oslo_policy.DocumentedRuleDefault)])
def test_documented_rules_are_project_scoped(name):
    rule = RULES[name]
    assert rule.scope_types == ["project"]
    assert rule.operations and rule.description


@pytest.mark.parametrize(("name", "check"), [
    ("publicize_image", "role:admin"), ("delete_image_location", "role:admin"),
    ("tasks_api_access", "role:admin"), ("context_is_admin", "role:admin"),
    ("cache_image", "role:admin"), ("cache_list", "role:admin"),
    ("cache_delete", "role:admin"), ("manage_image_cache", "role:admin"),
])
def test_admin_only_defaults(name, check):
    assert RULES[name].check_str == check


@pytest.mark.parametrize("name", ["cache_image", "cache_list", "cache_delete"])
def test_cache_rules_fall_back_to_manage_image_cache(name):
    """Glance's deprecated default: a customised manage_image_cache keeps applying."""
    assert RULES[name].deprecated_rule.check_str == "rule:manage_image_cache"


def test_member_status_is_changed_by_the_member_only():
    assert "%(member_id)s" in RULES["modify_member"].check_str
    assert "%(project_id)s" not in RULES["modify_member"].check_str


def test_sample_generator_lists_every_rule(tmp_path):
    out = tmp_path / "policy.yaml.sample"
    subprocess.run([str(BIN / "oslopolicy-sample-generator"), "--namespace", "glance",
                    "--output-file", str(out)], check=True, capture_output=True)
    text = out.read_text()
    for name in RULES:
        assert f'#"{name}":' in text


def test_policy_generator_uses_the_enforcer_entry_point():
    result = subprocess.run([str(BIN / "oslopolicy-policy-generator"), "--namespace",
                             "glance"], check=True, capture_output=True, text=True)
    assert '"publicize_image": "role:admin"' in result.stdout


def test_shipped_sample_has_the_required_rules():
    text = (ROOT / "etc" / "policy.yaml.sample").read_text()
    for name in REQUIRED:
        assert f'#"{name}":' in text

"""Policy defaults in code: names, scopes, the generators and the shipped sample."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from oslo_config import cfg
from oslo_policy import policy as oslo_policy

from glance import policies, policy

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RULES = {rule.name: rule for rule in policies.list_rules()}
# The names operators and tools know from Glance, and ours for caller-chosen ids.
REQUIRED = [
    "context_is_admin", "default", "service_api", "metadef_default", "metadef_admin",
    "download_from_store", "list_cached_nodes", "manage_image_cache", "cache_clean",
    "cache_prune", "add_image_location", "fetch_image_location", "copy_image",
    "stores_info_detail", "add_image", "get_image", "get_images", "modify_image",
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


@pytest.mark.parametrize("name", [
    "publicize_image", "delete_image_location", "tasks_api_access", "copy_image",
    "cache_image", "cache_list", "cache_delete", "cache_clean", "cache_prune",
    "manage_image_cache", "list_cached_nodes", "metadef_admin"])
def test_admin_only_defaults(name):
    assert RULES[name].check_str == "rule:context_is_admin"


def test_base_rules():
    assert RULES["context_is_admin"].check_str == "role:admin"
    assert RULES["service_api"].check_str == "role:service or role:admin"
    assert RULES["default"].check_str == ""
    assert RULES["metadef_default"].check_str == ""


@pytest.mark.parametrize("name", sorted(set(RULES) - {"context_is_admin", "service_api"}))
def test_defaults_name_roles_only_through_the_base_rules(name):
    """No default but the base rules names the admin or service role itself, so an
    override of context_is_admin or service_api reaches every rule."""
    check = RULES[name].check_str
    assert "role:admin" not in check and "role:service" not in check


@pytest.mark.parametrize(("name", "base"), [("add_image_with_id", "add_image"),
                                            ("delete_deactivated_image", "delete_image"),
                                            ("add_member_subtree", "add_member"),
                                            ("add_member_domain", "add_member")])
def test_our_extra_rules_follow_the_glance_rule_checked_before_them(name, base):
    assert RULES[name].check_str == f"rule:{base}"
    assert RULES[name].deprecated_rule is None


def _enforcer(tmp_path, rules: dict[str, str]) -> oslo_policy.Enforcer:
    conf = cfg.ConfigOpts()
    conf([], project="glance-policy-test")
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(rules))
    enforcer = oslo_policy.Enforcer(conf, policy_file=str(path))
    enforcer.register_defaults(policies.list_rules())
    enforcer.load_rules()
    return enforcer


def _creds(roles: str, project: str = "p1") -> dict:
    return {"roles": roles.split(","), "project_id": project}


def test_overriding_context_is_admin_moves_every_admin_default(tmp_path):
    enforcer = _enforcer(tmp_path, {"context_is_admin": "role:superuser"})
    target = {"project_id": "p2", "owner": "p2", "visibility": "private",
              "member_id": None}
    admin_rules = ["publicize_image", "delete_image_location", "copy_image",
                   "tasks_api_access", "cache_list", "metadef_admin",
                   "add_metadef_namespace", "get_image", "modify_image",
                   "list_cached_nodes"]
    for name in admin_rules:
        assert enforcer.enforce(name, target, _creds("superuser")), name
        assert not enforcer.enforce(name, target, _creds("admin,member,reader")), name
    # service_api still names the admin role itself (as in Glance).
    assert enforcer.enforce("stores_info_detail", target, _creds("admin"))


def test_overriding_service_api_moves_the_service_rules(tmp_path):
    enforcer = _enforcer(tmp_path, {"service_api": "role:image_service"})
    target = {"project_id": "p2", "owner": "p2", "visibility": "shared",
              "member_id": None}
    for name in ("fetch_image_location", "add_image_location", "stores_info_detail"):
        assert enforcer.enforce(name, target, _creds("image_service")), name
        assert not enforcer.enforce(name, target, _creds("service")), name
    # The admin role still passes stores_info_detail by context_is_admin, not by
    # service_api: with service_api overridden it no longer reaches the location API.
    assert enforcer.enforce("stores_info_detail", target, _creds("admin"))
    assert not enforcer.enforce("fetch_image_location", target, _creds("admin"))


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
    assert '"publicize_image": "rule:context_is_admin"' in result.stdout


def test_shipped_sample_has_the_required_rules():
    text = (ROOT / "etc" / "policy.yaml.sample").read_text()
    for name in REQUIRED:
        assert f'#"{name}":' in text


def test_listing_filter_reads_the_target_keys_of_the_effective_rule(tmp_path):
    enforcer = _enforcer(tmp_path, {"context_is_admin": "role:admin or "
                                                        "'x':%(os_distro)s"})
    assert policy._target_keys(enforcer, "get_image") == {
        "project_id", "member_id", "visibility", "os_distro"}
    enforcer = _enforcer(tmp_path, {"get_image": "http://127.0.0.1:9/check"})
    assert policy._target_keys(enforcer, "get_image") is None

"""Property protection files: parsing, the start-up refusals, and who may do what."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from glance import property_protection as protection
from glance.conf import validate
from tests.helpers import ROOT

ROLES_SAMPLE = ROOT / "etc" / "property-protections-roles.conf.sample"


def _who(*roles: str, service_roles: tuple[str, ...] = ()):
    return SimpleNamespace(roles=list(roles), service_roles=list(service_roles))


def _rules(tmp_path: Path, text: str, rule_format: str = "roles"):
    path = tmp_path / "protections.conf"
    path.write_text(text)
    return protection.load(str(path), rule_format)


def test_the_roles_sample_loads_and_means_what_it_says():
    rules = protection.load(str(ROLES_SAMPLE), "roles")
    admin, member, service = _who("admin"), _who("member", "reader"), _who("service")
    assert rules.allows(admin, "x_licence_key", "update")
    assert not rules.allows(member, "x_licence_key", "update")
    assert rules.allows(member, "x_licence_key", "read")
    assert rules.allows(service, "x_billing_code", "create")
    assert not rules.allows(admin, "x_billing_code", "delete")  # '!'
    assert rules.allows(member, "anything_else", "delete")  # the catch-all '@'


def test_the_policies_sample_loads():
    sample = ROOT / "etc" / "property-protections-policies.conf.sample"
    rules = protection.load(str(sample), "policies")
    assert [rule.section for rule in rules.rules] == ["^x_licence_key$", "^x_billing_",
                                                       ".*"]
    assert rules.allows(_who("member"), "x_billing_code", "read")  # '@'
    assert not rules.allows(_who("admin"), "x_billing_code", "delete")  # '!'


def test_first_matching_section_decides_and_unmatched_properties_are_closed(tmp_path):
    rules = _rules(tmp_path, "[^a]\ncreate = member\nread = @\nupdate = \ndelete = !\n"
                             "[ab]\ncreate = admin\nread = admin\nupdate = admin\n"
                             "delete = admin\n")
    member = _who("member")
    assert rules.allows(member, "ab", "create")  # [^a] comes first
    assert not rules.allows(member, "ab", "update")  # empty: nobody
    assert rules.allows(_who("admin"), "xab", "read")  # searched, not matched at 0
    assert not rules.allows(_who("admin"), "zzz", "read")  # no section: nobody


def test_roles_in_the_file_are_lowered_and_service_roles_count(tmp_path):
    rules = _rules(tmp_path, "[.*]\ncreate = Admin\nread = service\nupdate = !\n"
                             "delete = !\n")
    assert rules.allows(_who("admin"), "p", "create")
    assert not rules.allows(_who("Admin"), "p", "create")  # as Glance: the caller's as-is
    assert rules.allows(_who("member", service_roles=("service",)), "p", "read")


def test_glance_properties_are_never_protected(tmp_path):
    rules = _rules(tmp_path, "[os_glance_mine]\ncreate = !\nread = !\nupdate = !\n"
                             "delete = !\n[.*]\ncreate = !\nread = !\nupdate = !\n"
                             "delete = !\n")
    assert [rule.section for rule in rules.rules] == [".*"]
    assert rules.allows(_who(), "os_glance_import_task", "update")
    assert not rules.allows(_who("admin"), "other", "read")


@pytest.mark.parametrize("text, rule_format, reason", [
    ("[.*]\ncreate = @\nread = @\nupdate = @\n", "roles", "has no delete"),
    ("[(]\ncreate = @\nread = @\nupdate = @\ndelete = @\n", "roles",
     "is not a regular expression"),
    ("[.*]\ncreate = @,!\nread = @\nupdate = @\ndelete = @\n", "roles",
     "exclude each other"),
    ("[.*]\ncreate = a,b\nread = a\nupdate = a\ndelete = a\n", "policies",
     "one policy rule per operation"),
    ("create = @\n", "roles", "cannot be read"),
])
def test_malformed_files_are_one_line_errors(tmp_path, text, rule_format, reason):
    with pytest.raises(validate.ConfigError) as caught:
        _rules(tmp_path, text, rule_format)
    message = str(caught.value)
    assert message.startswith("[DEFAULT] property_protection_file = ")
    assert reason in message and "\n" not in message


def test_a_missing_file_is_a_one_line_error(tmp_path):
    with pytest.raises(validate.ConfigError, match="cannot be read"):
        protection.load(str(tmp_path / "absent.conf"), "roles")

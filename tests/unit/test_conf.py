"""glance/conf: Glance's list syntax, the one-line value check, the unsupported-options table."""

import re

import pytest
from oslo_config import cfg

import glance.conf  # noqa: F401 - the global CONF with every option
from glance.conf import (
    image_import,
    import_filtering,
    import_plugins,
    libraries,
    not_implemented,
    profiler,
    server,
    tasks,
    unsupported,
    validate,
)
from glance.conf.types import BracketsOptionalList
from tests import helpers

DOC = helpers.ROOT / "doc" / "source" / "admin" / "configuration.rst"


@pytest.fixture
def conf(tmp_path):
    """A private ConfigOpts with some of glance's groups; ``load(text)`` reads a file."""
    opts = cfg.ConfigOpts()
    for module in (server, image_import, import_filtering, import_plugins,
                   not_implemented, profiler, tasks):
        module.register_opts(opts)
    opts.register_opt(cfg.DictOpt("enabled_backends"))

    def load(text: str) -> cfg.ConfigOpts:
        path = tmp_path / "glance-api.conf"
        path.write_text(text)
        opts([], project="glance", default_config_files=[str(path)])
        return opts

    return load


@pytest.mark.parametrize(("text", "value"), [
    ("[glance-direct,web-download]", ["glance-direct", "web-download"]),
    ("glance-direct,web-download", ["glance-direct", "web-download"]),
    ("[]", []), ("", []), ("['a', 'b']", ["a", "b"]), ("a,b,", ["a", "b"]),
])
def test_bounded_lists_take_glances_syntax_and_ours(text, value):
    parse = BracketsOptionalList(cfg.types.String(quotes=True))
    assert parse(text) == value


@pytest.mark.parametrize("text", ["[a", "a]", "[a,b"])
def test_bounded_lists_refuse_an_unbalanced_bracket(text):
    with pytest.raises(ValueError):
        BracketsOptionalList()(text)


def test_a_bad_value_is_one_line_naming_option_group_file_and_choices(conf, tmp_path):
    opts = conf("[DEFAULT]\nenabled_import_methods = [glance-direct,ftp]\n")
    with pytest.raises(validate.ConfigError) as err:
        validate.check_values(opts)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("invalid value for [DEFAULT] enabled_import_methods = "
                              "[glance-direct,ftp] in ")
    assert str(tmp_path / "glance-api.conf") in message
    assert "each item one of: glance-direct, web-download, copy-image, glance-download" \
        in message


def test_a_value_set_by_a_deprecated_name_is_found(conf):
    opts = conf("[DEFAULT]\ntask_time_to_live = soon\n")
    with pytest.raises(validate.ConfigError, match=r"\[task\] task_time_to_live = soon"):
        validate.check_values(opts)


def test_deprecated_names_are_held_until_logging_is_set_up(conf):
    opts = conf("[profiler]\nprofiler_enabled = false\n")
    records = validate.check_values(opts)
    assert opts.profiler.enabled is False
    assert any("profiler_enabled" in record.getMessage() for record in records)


@pytest.mark.parametrize(("kind", "words"), [
    (cfg.types.Boolean(), "true or false (also yes/no, on/off, 1/0)"),
    (cfg.types.Integer(min=1), "an integer of at least 1"),
    (cfg.types.Port(), "a port number from 0 to 65535"),
    (cfg.types.String(choices=["a", "b"], ignore_case=True), "one of: a, b (any case)"),
    (cfg.types.List(cfg.types.HostAddress(), bounds=True),
     "a comma-separated list written [a,b], each item an IP address or a host name"),
    (cfg.types.Dict(), "comma-separated key:value pairs, each value a string"),
])
def test_allowed_values_in_words(kind, words):
    assert validate.allowed_values(kind) == words


def test_rows_apply_only_to_what_the_file_sets(conf):
    opts = conf("[DEFAULT]\nproperty_protection_rule_format = roles\n"
                "enabled_import_methods = [glance-direct,glance-download]\n"
                "http_retries = 5\n"
                "[image_import_opts]\nimage_import_plugins = [no_op]\n"
                "[profiler]\nenabled = true\n"
                "[inject_metadata_properties]\ninject = a:b\n")
    found = {(row.group, row.option): names for row, names in unsupported.findings(opts)}
    assert found == {("DEFAULT", "http_retries"): ["http_retries"],
                     ("profiler", "*"): ["enabled"]}


def test_refused_options_raise_one_error_naming_them(conf):
    opts = conf("[DEFAULT]\nmetadata_encryption_key = 0123456789abcdef0123456789abcdef\n"
                "http_retries = 5\n")
    with pytest.raises(validate.ConfigError) as err:
        unsupported.check(opts)
    assert "[DEFAULT] metadata_encryption_key (" in str(err.value)
    assert "http_retries" not in str(err.value)  # warned, not refused


def test_keys_no_option_reads_are_listed_per_section(conf):
    opts = conf("[DEFAULT]\nwakeup_tme = 5\n[oslo_reports]\nlog_dir = x\n"
                "[task]\ntask_time_to_live = 3\n")
    assert unsupported.unused_keys(opts) == {"DEFAULT": ["wakeup_tme"],
                                             "oslo_reports": ["log_dir"]}


def _documented_rows() -> set[tuple[str, str, str]]:
    text = DOC.read_text()
    rows = re.findall(r"\* - ``\[([^\]]+)\] ([^`]+)``\n\s+- [^\n]+\n\s+- \*\*(\w+)\*\*",
                      text)
    return {(group, "*" if option == "(every option)" else option, action)
            for group, option, action in rows}


def test_the_documentation_shows_the_table():
    assert _documented_rows() == {(row.group, row.option, row.action)
                                  for row in unsupported.TABLE}


def test_every_row_names_a_registered_option():
    registered = {(group or "DEFAULT", opt.dest)
                  for group, opt in validate.registered_options(cfg.CONF)}
    groups = {group for group, _ in registered}
    for row in unsupported.TABLE:
        assert (row.group, row.option) in registered or (
            row.option == "*" and row.group in groups), row


def test_the_sample_generator_lists_every_option_glance_registers():
    generator = helpers.ROOT / "etc" / "oslo-config-generator" / "glance-api.conf"
    namespaces = [line.split("=", 1)[1].strip() for line in generator.read_text().splitlines()
                  if line.startswith("namespace")]
    listed = {(group or "DEFAULT", opt.dest) for namespace in namespaces
              for group, opts in libraries.namespace_opts(namespace) for opt in opts}
    ours = cfg.ConfigOpts()  # what glance/conf registers, libraries included
    for module in glance.conf.MODULES:
        module.register_opts(ours)
    registered = {(group or "DEFAULT", opt.dest)
                  for group, opt in validate.registered_options(ours)}
    builtin = {(group or "DEFAULT", opt.dest)  # oslo.config's own (config_source ...)
               for group, opt in validate.registered_options(cfg.ConfigOpts())}
    registered -= builtin
    assert len(registered) > 300
    assert registered - listed == set()

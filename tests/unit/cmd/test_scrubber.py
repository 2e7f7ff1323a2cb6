"""``glance-scrubber`` command line and options (no database, no store)."""

import os
import subprocess
import sys

from oslo_config import cfg

from glance.cmd import scrubber
from glance.conf import scrubber as scrubber_conf


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "glance.cmd.scrubber", *args],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def _opt(name: str) -> cfg.Opt:
    (_group, opts), = scrubber_conf.list_opts()
    return next(opt for opt in opts if opt.name == name)


def test_options_have_glances_names_types_and_defaults():
    expected = {  # Glance 33 glance/scrubber.py, all in [DEFAULT]
        "scrub_time": (cfg.IntOpt, 0, 0), "scrub_pool_size": (cfg.IntOpt, 1, 1),
        "wakeup_time": (cfg.IntOpt, 300, 0), "delayed_delete": (cfg.BoolOpt, False, None),
        "daemon": (cfg.BoolOpt, False, None), "restore": (cfg.StrOpt, None, None)}
    for name, (kind, default, minimum) in expected.items():
        opt = _opt(name)
        assert isinstance(opt, kind) and opt.default == default, name
        assert getattr(opt.type, "min", None) == minimum, name
    assert _opt("daemon").short == "D" and _opt("restore").metavar == "<IMAGE_ID>"


def test_every_process_reads_scrub_time_and_pool_size():
    assert cfg.CONF.scrub_time == 0 and cfg.CONF.scrub_pool_size == 1


def test_help_lists_the_switches():
    result = _run("--help")
    assert result.returncode == 0
    for text in ("--daemon", "-D", "--restore <IMAGE_ID>", "--config-file"):
        assert text in result.stdout


def test_restore_and_daemon_together_is_an_error(tmp_path):
    config = tmp_path / "glance-scrubber.conf"
    config.write_text("[database]\nconnection = sqlite:////nonexistent/x.sqlite\n")
    result = _run("--config-file", str(config), "--restore", "x", "-D")
    assert result.returncode == 1
    assert result.stderr.startswith("ERROR: --restore and --daemon cannot be used together")


def test_unknown_argument_is_a_usage_error():
    result = _run("--frobnicate")
    assert result.returncode == 2 and "unrecognized arguments" in result.stderr


def test_default_config_is_glance_scrubber_conf_else_glance_api_conf(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("OS_GLANCE_CONFIG_FILE", raising=False)
    api = tmp_path / "etc" / "glance-api.conf"
    api.parent.mkdir()
    api.write_text("[DEFAULT]\n")
    monkeypatch.setenv("OS_GLANCE_CONFIG_DIR", str(api.parent))
    if any(os.path.exists(f"{d}/glance-scrubber.conf") for d in ("/etc/glance", "/etc")):
        return  # this machine has its own; the choice below cannot be observed
    assert scrubber.default_config_files()[0] == str(api)

    own = tmp_path / ".glance" / "glance-scrubber.conf"
    own.parent.mkdir()
    own.write_text("[DEFAULT]\n")
    assert scrubber.default_config_files() == [str(own)]

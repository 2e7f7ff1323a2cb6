"""``glance-manage`` command line: help, usage errors, metadefs wiring (no database)."""

import subprocess
import sys

import pytest

from glance.cmd import manage


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "glance.cmd.manage", *args],
                          capture_output=True, text=True, timeout=60)


def test_check_help_documents_exit_codes():
    result = _run("db", "check", "--help")
    assert result.returncode == 0
    for line in ("0  the database is up to date", "3  expand pending",
                 "4  data migrations pending", "5  contract pending", "--format"):
        assert line in result.stdout


def test_sync_help_has_check_flag():
    result = _run("db", "sync", "--help")
    assert "--check" in result.stdout and "5  contract pending" in result.stdout


def test_every_action_and_legacy_alias_is_a_command():
    top = _run("--help").stdout
    db = _run("db", "--help").stdout
    for action in manage.ACTIONS:
        assert action in db
    for legacy in manage.LEGACY:
        assert legacy in top


def test_unknown_action_is_usage_error():
    result = _run("db", "frobnicate")
    assert result.returncode == 2 and "invalid choice" in result.stderr


@pytest.mark.parametrize("text", ["-1", "x", "1.5", ""])
def test_age_validation(text):
    with pytest.raises(Exception, match="must"):
        manage._non_negative_int(text)


@pytest.mark.parametrize("text,value", [("0", 0), ("7", 7)])
def test_age_accepted(text, value):
    assert manage._non_negative_int(text) == value


@pytest.mark.parametrize("text", ["0", "-2", "y"])
def test_max_rows_validation(text):
    with pytest.raises(Exception, match="must"):
        manage._max_rows(text)


def test_max_rows_no_limit():
    assert manage._max_rows("-1") == -1


def test_one_line_drops_sql_and_background():
    err = RuntimeError("first line\n[SQL: SELECT 1]\n(Background on this error at: x)")
    assert manage._one_line(err) == "first line"

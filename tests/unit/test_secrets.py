"""Secrets are masked in log records and error bodies."""

import logging

import pytest
import webob

from glance import secrets
from glance.api import faults


@pytest.mark.parametrize("text, secret", [
    ("Invalid location: http://user:s3cr3t@host/img", "s3cr3t"),
    ("swift+https://tenant%3Auser:k3y@auth.example/v3/c/o", "k3y"),
    ('{"password": "hunter2", "name": "x"}', "hunter2"),
    ("auth_token=tok123 other", "tok123"),
    ("X-Auth-Token: gAAAAABtoken", "gAAAAABtoken"),
    ("s3 store: secret_key=AbCdEf access_key=AKIA123", "AbCdEf"),
    ("s3 store: secret_key=AbCdEf access_key=AKIA123", "AKIA123"),
], ids=["http-url", "swift-url", "json-password", "auth-token", "token-header",
        "secret-key", "access-key"])
def test_mask(text, secret):
    assert secret not in secrets.mask(text)


def test_plain_urls_are_kept():
    assert secrets.mask("http://host:8080/x") == "http://host:8080/x"


def test_log_records_are_masked():
    record = logging.LogRecord("glance", logging.ERROR, __file__, 1,
                               "store failed for %s", ("http://u:pw9@h/x",), None)
    assert secrets.MaskingFilter().filter(record)
    assert "pw9" not in record.getMessage() and "u:***@h" in record.getMessage()


def test_error_bodies_are_masked():
    request = webob.Request.blank("/", headers={"Accept": "application/json"})
    response = faults.error_response(request, 400,
                                     "Invalid location: rbd://x and http://a:pw7@h/i")
    assert b"pw7" not in response.body and b"a:***@h" in response.body

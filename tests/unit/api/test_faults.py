"""The fault layer: database value errors are the client's (400), not 500."""

import webob
from oslo_db import exception as db_exc

from glance.api import faults


def test_integer_overflow_in_the_driver_is_400():
    err = db_exc.DBError(OverflowError("Python int too large to convert to SQLite INTEGER"))
    response = faults.from_exception(webob.Request.blank("/v2/images"), err)
    assert response.status_int == 400
    assert b"out of range" in response.body


def test_other_database_errors_stay_500():
    err = db_exc.DBError(RuntimeError("boom"))
    response = faults.from_exception(webob.Request.blank("/v2/images"), err)
    assert response.status_int == 500 and b"boom" not in response.body

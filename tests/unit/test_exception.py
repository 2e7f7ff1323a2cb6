"""One exception tree: every error class lives in glance/exception.py, each with its
HTTP status, and the fault layer maps classes by walking their MRO."""

import ast
import inspect
import pathlib

import pytest
import webob
import webob.exc
from oslo_db import exception as db_exc

from glance import exception
from glance.api import faults

ROOT = pathlib.Path(__file__).resolve().parents[2] / "glance"

# Exception classes allowed outside glance/exception.py. Private names (``_Name``) are
# internal control flow of their module. These are start-up and command-line errors:
# they never reach HTTP (no status code; CommandError.code is an exit status) and are
# raised and caught inside the commands and start-up checks that own them. ConfigError's
# qualified name is also operator-facing: the WSGI entry logs one
# ``glance.conf.validate.ConfigError: ...`` line (doc/source/admin/configuration.rst,
# tests/functional/test_startup_errors.py), so it stays where it is. WriteLockTimeout
# is a SQLAlchemy OperationalError on purpose: the database error handling reads it as
# SQLite's own busy timeout (503), as it would the error SQLite raises.
ALLOWED = {
    "glance/db/sqlalchemy/write_lock.py:WriteLockTimeout",
    "glance/conf/validate.py:ConfigError",
    "glance/api/flavors.py:PasteConfigError",
    "glance/cmd/manage.py:UsageError",
    "glance/cmd/scrubber.py:CommandError",
    "glance/db/adoption.py:UnsupportedDatabase",
    "glance/db/migration.py:MigrationOrderError",
    "glance/db/migration.py:ContractRefused",
}


def _exception_like(base: ast.expr) -> bool:
    name = ast.unparse(base)
    return (name.endswith(("Exception", "Error", "Warning")) or name.startswith("exception.")
            or name.endswith("Exit") or name in ("KeyboardInterrupt", "StopIteration"))


def _classes_outside(root: pathlib.Path = ROOT) -> list[str]:
    """``path:Name`` of each public exception class defined outside exception.py."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if path == root / "exception.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef) and any(map(_exception_like, node.bases)):
                where = f"{path.relative_to(root.parent)}:{node.name}"
                if not node.name.startswith("_") and where not in ALLOWED:
                    found.append(where)
    return found


def test_no_exception_class_is_defined_outside_glance_exception():
    assert _classes_outside() == []


def test_the_check_sees_a_stray_class(tmp_path):
    (tmp_path / "exception.py").write_text("class Fine(Exception):\n    pass\n")
    (tmp_path / "stray.py").write_text("class Stray(exception.BadRequest):\n    pass\n"
                                       "class Other(ValueError):\n    pass\n"
                                       "class _Private(ValueError):\n    pass\n")
    assert [where.split(":")[1] for where in _classes_outside(tmp_path)] == ["Stray", "Other"]


def _glance_exceptions() -> list[type[exception.GlanceException]]:
    return [cls for _, cls in inspect.getmembers(exception, inspect.isclass)
            if issubclass(cls, exception.GlanceException)]


@pytest.mark.parametrize("cls", _glance_exceptions(), ids=lambda cls: cls.__name__)
def test_every_glance_exception_has_an_http_error_code(cls):
    assert isinstance(cls.code, int) and 400 <= cls.code <= 599


def test_every_exception_class_in_the_module_is_defined_there():
    stray = [name for name, cls in inspect.getmembers(exception, inspect.isclass)
             if issubclass(cls, BaseException) and cls.__module__ != exception.__name__]
    assert stray == []


def _response(err: BaseException) -> webob.Response:
    return faults.from_exception(webob.Request.blank("/v2/images", accept="application/json"),
                                 err)


def test_a_glance_exception_answers_with_its_class_code_and_headers():
    response = _response(exception.RangeNotSatisfiable(size=10))
    assert response.status_int == 416
    assert response.headers["Content-Range"] == "bytes */10"
    assert _response(exception.StoreAddDisabled()).status_int == 410


def test_the_most_specific_class_in_the_mro_wins():
    assert faults.handler_for(db_exc.DBDataError()) is faults.HANDLERS[db_exc.DBDataError]
    assert faults.handler_for(db_exc.DBDuplicateEntry()) is faults.HANDLERS[db_exc.DBError]
    assert faults.handler_for(KeyError("x")) is faults.HANDLERS[BaseException]


def test_webob_errors_keep_their_status_and_allow_header():
    response = _response(webob.exc.HTTPMethodNotAllowed(headers={"Allow": "GET"}))
    assert response.status_int == 405 and response.headers["Allow"] == "GET"


def test_database_value_errors_are_400_and_anything_else_500():
    assert _response(db_exc.DBDataError()).status_int == 400
    response = _response(RuntimeError("secret detail"))
    assert response.status_int == 500 and b"secret detail" not in response.body

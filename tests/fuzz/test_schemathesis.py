"""Schemathesis tier: requests generated from doc/api/openapi.yaml, valid and invalid,
against a real ``glance-api`` on a loopback port (noauth, an admin of one project).

Every response must be below 500 and match the documented status codes, media types
and response schemas, and the server log must hold no traceback. One test per
documented operation, plus stateful workflows that follow the document's links
(create an image, then upload, tag, share... it). The examples per test come from
``GLANCE_SCHEMATHESIS_EXAMPLES`` (default 12); generation is deterministic. A longer
run by hand: see doc/source/contributor/testing.rst.
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks as st_checks

import tests.fuzz.schemathesis_hooks  # noqa: F401 - registers the JSON-patch media types
from tests import helpers

DOC = helpers.ROOT / "doc" / "api" / "openapi.yaml"
EXAMPLES = int(os.environ.get("GLANCE_SCHEMATHESIS_EXAMPLES", "12"))
HEADERS = {**helpers.ADMIN, "Accept": "application/json"}
CHECKS = [st_checks.not_a_server_error, st_checks.status_code_conformance,
          st_checks.content_type_conformance, st_checks.response_schema_conformance]

schema = schemathesis.openapi.from_path(DOC, config=schemathesis.Config.from_dict(
    {"generation": {"mode": "all", "max-examples": EXAMPLES, "deterministic": True}}))


@pytest.fixture(scope="module")
def fuzz_server(start_server) -> helpers.Server:
    """A server of its own: the run creates and deletes plenty."""
    return start_server(name="schemathesis")


def _assert_no_traceback(server: helpers.Server) -> None:
    log = server.log_path.read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_openapi_operation(case, fuzz_server):
    case.call_and_validate(base_url=fuzz_server.url, headers=HEADERS, checks=CHECKS,
                           timeout=30)
    _assert_no_traceback(fuzz_server)


class Workflows(schema.as_state_machine()):
    """Sequences of calls chained by the document's links."""

    base_url = ""

    def get_call_kwargs(self, case):
        return {"base_url": self.base_url, "headers": HEADERS, "timeout": 30}

    failures: list[str] = []  # the checks that failed, before hypothesis replays

    def validate_response(self, response, case, additional_checks=None, **kwargs):
        try:
            case.validate_response(response, checks=CHECKS, headers=HEADERS)
        except Exception as err:
            Workflows.failures.append(
                f"{case.method} {case.formatted_path} -> {response.status_code} "
                f"{response.text[:300]!r}: {type(err).__name__}: {str(err)[:500]}")
            raise


def test_stateful_workflows(fuzz_server):
    Workflows.base_url = fuzz_server.url
    Workflows.failures = []
    try:
        Workflows.run(settings=settings(
            max_examples=EXAMPLES, stateful_step_count=10, deadline=None,
            derandomize=True, database=None, suppress_health_check=list(HealthCheck)))
    except Exception as err:
        # A failing workflow is replayed against a server whose state has moved on,
        # which hypothesis may report only as "inconsistent data generation": keep
        # what the server said, so the first failure can still be found.
        log = fuzz_server.log_path.read_text(errors="replace")
        err.add_note("failed checks (first run first):\n" + "\n".join(Workflows.failures))
        err.add_note("server log (last lines):\n" + "\n".join(log.splitlines()[-60:]))
        raise
    _assert_no_traceback(fuzz_server)

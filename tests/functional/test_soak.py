"""A short soak (bench/soak.py): 32 clients mixing metadata and data calls against a
real glance-api for ``GLANCE_SOAK_SECONDS`` (default 40): no errors, and the server's
memory does not keep growing."""

import io
import os
import sys

import pytest

from tests import helpers

sys.path.insert(0, str(helpers.ROOT / "bench"))
import soak  # noqa: E402


@pytest.mark.slow
def test_short_soak(start_server):
    server = start_server({"DEFAULT": {"workers": 2}}, name="soak")
    seconds = float(os.environ.get("GLANCE_SOAK_SECONDS", "40"))
    out = io.StringIO()
    summary = soak.run(server.url, server.pid, duration=seconds, interval=seconds / 4,
                       clients=32, out=out)
    assert summary["errors"] == 0, out.getvalue()
    assert summary["requests"] > 500, out.getvalue()
    first, last = summary["intervals"][1]["rss_mib"], summary["intervals"][-1]["rss_mib"]
    assert last < first * 1.25 + 20, out.getvalue()

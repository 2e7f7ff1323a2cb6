"""The documentation builds with warnings as errors (as ``tox -e docs`` does).

The configuration and policy references are generated from the code during the
build, so a broken option or rule help text fails here too.
"""

import subprocess
import sys

from tests.helpers import ROOT


def test_docs_build_without_warnings(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), "doc/source", str(tmp_path / "html")],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    for page in ("index", "releasenotes", "admin/configuration", "admin/policy-reference",
                 "admin/notifications"):
        assert (tmp_path / "html" / f"{page}.html").is_file(), page
    configuration = (tmp_path / "html" / "admin" / "configuration.html").read_text()
    assert "disabled_notifications" in configuration
    assert "filesystem_store_datadir" in configuration
    policies = (tmp_path / "html" / "admin" / "policy-reference.html").read_text()
    assert "add_image" in policies and "get_metadef_namespace" in policies

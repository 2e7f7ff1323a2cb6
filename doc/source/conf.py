"""Sphinx configuration of the glance documentation.

Build: ``tox -e docs`` (or ``sphinx-build -W -b html doc/source doc/build/html``);
``tests/docs/test_docs_build.py`` builds it the same way in CI.
"""

project = "glance"
copyright = "2026, glance developers"
extensions = [
    "reno.sphinxext",            # release notes (.. release-notes::)
    "oslo_config.sphinxext",     # configuration reference (.. show-options::)
    "oslo_policy.sphinxext",     # policy reference (.. show-policy::)
]
exclude_patterns = ["_build"]
html_theme = "alabaster"
master_doc = "index"

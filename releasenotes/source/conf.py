"""Sphinx configuration of the glance documentation."""

project = "glance release notes"
copyright = "2026, glance developers"
extensions = ["reno.sphinxext"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
master_doc = "index"

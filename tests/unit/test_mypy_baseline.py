"""mypy on glance/ finds exactly the errors of tests/mypy-baseline.txt.

A new error fails; so does a listed error that no longer occurs (the baseline only
shrinks: delete its line). ``python3 tools/mypy_baseline.py --write`` regenerates
the file; see that script for the format.
"""

import importlib.util

from tests.helpers import ROOT

_spec = importlib.util.spec_from_file_location("mypy_baseline",
                                               ROOT / "tools" / "mypy_baseline.py")
assert _spec is not None and _spec.loader is not None
mypy_baseline = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mypy_baseline)


def test_mypy_errors_are_the_baseline():
    new, gone = mypy_baseline.compare(mypy_baseline.run_mypy(),
                                      mypy_baseline.read_baseline())
    assert not (new or gone), mypy_baseline.report(new, gone)


def test_normalise_drops_line_numbers_notes_and_the_summary():
    output = (
        'glance/a.py:12: error: Name "x" already defined on line 3  [no-redef]\n'
        "glance/a.py:14:5: error: Incompatible types  [assignment]\n"
        'glance/a.py:14: note: "list" is invariant\n'
        "Found 2 errors in 1 file (checked 3 source files)\n")
    assert mypy_baseline.normalise(output) == [
        "glance/a.py: error: Incompatible types  [assignment]",
        'glance/a.py: error: Name "x" already defined on line N  [no-redef]']


def test_compare_counts_repeated_errors():
    twice = ["glance/a.py: error: E  [misc]"] * 2
    assert mypy_baseline.compare(twice, twice[:1]) == (twice[:1], [])
    assert mypy_baseline.compare(twice[:1], twice) == ([], twice[:1])
    assert mypy_baseline.compare(twice, twice) == ([], [])


def test_report_says_what_to_do():
    text = mypy_baseline.report(["glance/a.py: error: New  [misc]"],
                                ["glance/b.py: error: Fixed  [misc]"])
    assert "+ glance/a.py: error: New  [misc]" in text
    assert "- glance/b.py: error: Fixed  [misc]" in text
    assert "delete them" in text and "--write" in text


def test_read_baseline_skips_comments(tmp_path):
    path = tmp_path / "baseline.txt"
    path.write_text("# header\n\nglance/b.py: error: B  [misc]\nglance/a.py: error: A  [misc]\n")
    assert mypy_baseline.read_baseline(path) == ["glance/a.py: error: A  [misc]",
                                                 "glance/b.py: error: B  [misc]"]

"""assert_no_findings: errors fail the test with every finding listed, one a line; skipped ones warn."""

from __future__ import annotations

import pytest

from airflow_jupyter_provider.testing import Finding, SkippedCheckWarning, assert_no_findings

POOL = Finding("etl.py", "etl", "load", "pool", "pool 'gpu' does not exist (not in 'pools.json')")
REMOTE = Finding(
    "etl.py", "etl", "report", "notebook", "input_nb 's3://b/r.ipynb' is not local", skipped=True
)
IMPORT = Finding("broken.py", None, None, "import", "import error: NameError: name 'x' is not defined")


def test_errors_fail_with_every_finding_listed_errors_first() -> None:
    with pytest.warns(SkippedCheckWarning), pytest.raises(AssertionError) as failure:
        assert_no_findings([REMOTE, POOL, IMPORT])
    assert str(failure.value) == (
        "2 DAG integrity problem(s):\n"
        "etl.py: dag etl, task load: pool 'gpu' does not exist (not in 'pools.json')\n"
        "broken.py: import error: NameError: name 'x' is not defined\n"
        "etl.py: dag etl, task report: skipped: input_nb 's3://b/r.ipynb' is not local"
    )


def test_skipped_findings_pass_with_a_warning_each() -> None:
    with pytest.warns(SkippedCheckWarning) as warned:
        assert_no_findings([REMOTE])
    assert [str(warning.message) for warning in warned] == [str(REMOTE)]


def test_no_findings_pass() -> None:
    assert_no_findings([])

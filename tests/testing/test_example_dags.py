"""The project's own example DAGs pass the check, strict: what a user copies has nothing to report.

Their environments are a name and an archive path from a Variable's default, so the kernel
check does not apply; their pools are the default one, so no database or pools file is needed.
"""

from __future__ import annotations

from airflow_jupyter_provider.testing import assert_no_findings, check_dag_folder
from tests.helpers import REPO


def test_example_dags_have_no_findings() -> None:
    findings = check_dag_folder(REPO / "example_dags", strict=True)
    assert findings == []
    assert_no_findings(findings)

"""The check on a folder of DAGs broken on purpose, one file per kind of problem: each one gives
exactly its finding, as data and as the line a user reads; correct.py gives none.

The Airflow database is migrated and holds the pool ``gpu``; the pools file holds ``etl``.
"""

from __future__ import annotations

import pytest

from airflow_jupyter_provider.testing import Finding, check_dag_folder
from tests.testing.helpers import BROKEN_DAGS, EXPECTED, NOTEBOOKS, POOLS_FILE


@pytest.fixture(scope="module")
def findings(airflow_database: str) -> list[Finding]:
    return check_dag_folder(BROKEN_DAGS, strict=True, pools_file=POOLS_FILE)


@pytest.mark.parametrize("expected", EXPECTED, ids=lambda finding: finding.dag_file)
def test_broken_dag_gives_its_finding(findings: list[Finding], expected: Finding) -> None:
    assert [finding for finding in findings if finding.dag_file == expected.dag_file] == [expected]


def test_nothing_else_is_found(findings: list[Finding]) -> None:
    """correct.py, correct_native.py and correct_mapped.py hold what the checks must accept: they
    give no finding."""
    assert sorted(findings, key=str) == sorted(EXPECTED, key=str)


def test_import_errors_come_first_then_tasks_by_dag_id(findings: list[Finding]) -> None:
    task_files = sorted(f"{finding.dag_id}.py" for finding in findings if finding.dag_id)
    assert [finding.dag_file for finding in findings] == ["import_error.py", *task_files]


def test_a_finding_is_one_line_naming_file_dag_task_and_problem() -> None:
    by_file = {finding.dag_file: finding for finding in EXPECTED}
    assert str(by_file["unknown_pool.py"]) == (
        "unknown_pool.py: dag unknown_pool, task run: pool 'gpu_a100' does not exist "
        f"(not in the Airflow database nor in '{POOLS_FILE}'): the task would stay scheduled forever"
    )
    assert str(by_file["remote_notebook.py"]) == (
        "remote_notebook.py: dag remote_notebook, task run: skipped: input_nb "
        "'s3://team-notebooks/forecast.ipynb' is not local: notebook, parameters, kernel not checked"
    )
    assert str(by_file["import_error.py"]).startswith("import_error.py: import error: ValueError: ")


def test_a_mapped_task_finding_names_its_map_indexes_unless_every_one_has_it() -> None:
    by_file = {finding.dag_file: finding for finding in EXPECTED}
    assert str(by_file["mapped_missing_notebook.py"]) == (
        "mapped_missing_notebook.py: dag mapped_missing_notebook, task run, map index 1: input_nb "
        f"'notebooks/forcast.ipynb': no notebook at '{NOTEBOOKS}/forcast.ipynb'"
    )
    assert str(by_file["mapped_invalid_argument.py"]) == (
        "mapped_invalid_argument.py: dag mapped_invalid_argument, task run: "
        "run_flag='PAUSED' is not one of NORMAL, FORBIDDEN"
    )
    assert str(by_file["mapped_kwargs_need_run.py"]) == (
        "mapped_kwargs_need_run.py: dag mapped_kwargs_need_run, task run: skipped: expand_kwargs: "
        "the arguments come from the XCom of task 'runs' (known only in a run): not checked"
    )


def test_declared_parameters_without_default_are_reported_only_when_strict(airflow_database: str) -> None:
    lenient = check_dag_folder(BROKEN_DAGS, pools_file=POOLS_FILE)
    assert sorted(lenient, key=str) == sorted(
        (finding for finding in EXPECTED if finding.check != "missing-parameters"), key=str
    )

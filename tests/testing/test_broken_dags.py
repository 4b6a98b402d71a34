"""The check on a folder of DAGs broken on purpose, one file per kind of problem: each one gives
exactly its finding, as data and as the line a user reads; correct.py gives none.

The Airflow database is migrated and holds the pool ``gpu``; the pools file holds ``etl``.
"""

from __future__ import annotations

import pytest

from airflow_jupyter_provider.testing import Finding, check_dag_folder
from tests.testing.conftest import BROKEN_DAGS, POOLS_FILE

NOTEBOOKS = BROKEN_DAGS / "notebooks"


def error(dag: str, check: str, problem: str) -> Finding:
    return Finding(f"{dag}.py", dag, "run", check, problem)


def skipped(dag: str, check: str, problem: str) -> Finding:
    return Finding(f"{dag}.py", dag, "run", check, problem, skipped=True)


EXPECTED = [
    Finding(
        "import_error.py",
        None,
        None,
        "import",
        "import error: ValueError: task_priority='URGENT' is not one of HIGHEST, HIGH, MEDIUM, LOW, LOWEST",
    ),
    error(
        "missing_notebook",
        "notebook",
        f"input_nb 'notebooks/forcast.ipynb': no notebook at '{NOTEBOOKS}/forcast.ipynb'",
    ),
    error(
        "invalid_template",
        "notebook",
        "input_nb: invalid template 'notebooks/{{ params.notebook }.ipynb': unexpected '}'",
    ),
    error(
        "invalid_notebook",
        "notebook",
        f"input_nb 'notebooks/not_a_notebook.ipynb': '{NOTEBOOKS}/not_a_notebook.ipynb' is not a valid "
        "notebook: Notebook does not appear to be JSON: 'A notebook saved as plain text by mista...",
    ),
    error(
        "unknown_parameter",
        "parameters",
        "parameter 'reigon' is not declared in the parameters cell of 'notebooks/forecast.ipynb' "
        "(did you mean 'region'?)",
    ),
    error(
        "params_not_in_notebook",
        "parameters",
        "parameter 'horizon' is not declared in the parameters cell of 'notebooks/forecast.ipynb'",
    ),
    error(
        "no_parameters_cell",
        "parameters",
        "parameters given ('days') but 'notebooks/no_parameters_cell.ipynb' has no cell tagged 'parameters'",
    ),
    error(
        "invalid_parameters",
        "parameters",
        "parameters: invalid JSON text 'days=3': Expecting value: line 1 column 1 (char 0)",
    ),
    error(
        "missing_parameter",
        "missing-parameters",
        "parameter 'table' has no default (None) in the parameters cell of 'notebooks/needs_input.ipynb' "
        "and is not given",
    ),
    error(
        "unknown_pool",
        "pool",
        f"pool 'gpu_a100' does not exist (not in the Airflow database nor in '{POOLS_FILE}'): "
        "the task would stay scheduled forever",
    ),
    error(
        "missing_kernel",
        "kernel",
        f"kernel 'ir' is not in conda_env '{BROKEN_DAGS}/envs/demo' (it has: python3)",
    ),
    error(
        "not_an_environment",
        "environment",
        f"conda_env 'envs/plain': '{BROKEN_DAGS}/envs/plain' is not a conda environment "
        "(it has no conda-meta/ folder)",
    ),
    error(
        "no_kernel",
        "kernel",
        "kernel is not set and 'notebooks/no_kernelspec.ipynb' names none (in its kernelspec)",
    ),
    skipped(
        "remote_notebook",
        "notebook",
        "input_nb 's3://team-notebooks/forecast.ipynb' is not local: "
        "notebook, parameters, kernel not checked",
    ),
    skipped(
        "needs_run",
        "notebook",
        "input_nb \"{{ ti.xcom_pull(task_ids='pick_notebook') }}\" needs a real run to render "
        "('ti' is undefined): not checked",
    ),
    skipped(
        "environment_elsewhere",
        "environment",
        "conda_env '/nonexistent/conda/envs/forecast' is not on this machine: kernel not checked",
    ),
]


@pytest.fixture(scope="module")
def findings(airflow_database: str) -> list[Finding]:
    return check_dag_folder(BROKEN_DAGS, strict=True, pools_file=POOLS_FILE)


@pytest.mark.parametrize("expected", EXPECTED, ids=lambda finding: finding.dag_file)
def test_broken_dag_gives_its_finding(findings: list[Finding], expected: Finding) -> None:
    assert [finding for finding in findings if finding.dag_file == expected.dag_file] == [expected]


def test_nothing_else_is_found(findings: list[Finding]) -> None:
    """correct.py and correct_native.py hold what the checks must accept: they give no finding."""
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


def test_declared_parameters_without_default_are_reported_only_when_strict(airflow_database: str) -> None:
    lenient = check_dag_folder(BROKEN_DAGS, pools_file=POOLS_FILE)
    assert sorted(lenient, key=str) == sorted(
        (finding for finding in EXPECTED if finding.check != "missing-parameters"), key=str
    )

"""The environment a notebook runs with, in real runs: the worker's, without Airflow's own
variables, with what the worker's settings keep and what the task's ``env`` adds."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from airflow_jupyter_provider.hooks.jupyter_conda import JupyterCondaHook
from tests.helpers import CondaInstall, run_notebook, write_notebook

PRINT_ENVIRONMENT = "import json, os\nprint(json.dumps(dict(os.environ)))"


def notebook_environment(tmp_path: Path, conda: CondaInstall, **arguments: object) -> dict[str, str]:
    notebook = write_notebook(tmp_path / "env.ipynb", "x = 0", PRINT_ENVIRONMENT)
    output = tmp_path / "out.ipynb"
    run_notebook(
        JupyterCondaHook(),
        input_nb=str(notebook),
        output_nb=str(output),
        conda_env=conda.env_name,
        **arguments,
    )
    return json.loads(nbformat.read(output, as_version=4).cells[1].outputs[0].text)


def test_the_notebook_runs_without_airflows_variables_but_with_what_the_worker_keeps_and_the_task_adds(
    conda_connection: CondaInstall, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", "fernet-of-the-worker")
    monkeypatch.setenv("AIRFLOW__CORE__DEFAULT_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("AIRFLOW_VAR_PUBLIC_REGION", "north")
    monkeypatch.setenv("AIRFLOW_VAR_API_KEY", "key-of-the-worker")
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "forecast")
    monkeypatch.setenv(
        "AIRFLOW__JUPYTER_CONDA__NOTEBOOK_ENV_KEEP", "AIRFLOW__CORE__DEFAULT_TIMEZONE, AIRFLOW_VAR_PUBLIC_*"
    )

    env = notebook_environment(
        tmp_path, conda_connection, env={"REPORT_DAYS": 7, "AIRFLOW_CONN_REPORTS": "https://reports.internal"}
    )

    assert env["AIRFLOW__CORE__DEFAULT_TIMEZONE"] == "Europe/Berlin"
    assert env["AIRFLOW_VAR_PUBLIC_REGION"] == "north"
    assert env["AIRFLOW_CTX_DAG_ID"] == "forecast"
    assert env["REPORT_DAYS"] == "7"
    assert env["AIRFLOW_CONN_REPORTS"] == "https://reports.internal"  # set by the task on purpose
    assert env["CONDA_DEFAULT_ENV"] == conda_connection.env_name  # activation still works
    left_out = sorted(
        name
        for name in env
        if name.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_", "_AIRFLOW_", "__AIRFLOW_"))
    )
    assert left_out == [
        "AIRFLOW_CONN_REPORTS",
        "AIRFLOW_VAR_PUBLIC_REGION",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE",
    ]

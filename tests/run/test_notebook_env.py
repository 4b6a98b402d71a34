"""What the notebook's environment holds (``notebook_env.py``), and how the operator's
``env`` is checked when the DAG file is parsed."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_jupyter_provider.exceptions import InvalidRunError
from airflow_jupyter_provider.notebook_env import notebook_env
from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator
from tests.helpers import dag_in

NAME_RULE = " (letters, digits and '_', not starting with a digit)"
WORKER = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/home/airflow",
    "HTTPS_PROXY": "http://proxy:3128",
    "AWS_PROFILE": "analytics",
    "AIRFLOW_HOME": "/opt/airflow",
    "AIRFLOW_CTX_DAG_ID": "forecast",
    "AIRFLOW_CTX_TRY_NUMBER": "1",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://airflow:db-password@db/airflow",
    "AIRFLOW__CORE__FERNET_KEY": "fernet",
    "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Europe/Berlin",
    "AIRFLOW_CONN_WAREHOUSE": "postgresql://analyst:password@db.internal/warehouse",
    "AIRFLOW_VAR_API_TOKEN": "token",
    "AIRFLOW_VAR_PUBLIC_REGION": "north",
    "_AIRFLOW__STARTUP_MSG": "{...}",
    "__AIRFLOW_SUPERVISOR_FD": "3",
}


def test_the_notebook_gets_the_workers_environment_without_airflows_configuration_and_secrets() -> None:
    assert notebook_env(WORKER, {}) == {
        "PATH": "/usr/bin:/bin",
        "HOME": "/home/airflow",
        "HTTPS_PROXY": "http://proxy:3128",
        "AWS_PROFILE": "analytics",
        "AIRFLOW_HOME": "/opt/airflow",
        "AIRFLOW_CTX_DAG_ID": "forecast",
        "AIRFLOW_CTX_TRY_NUMBER": "1",
    }


def test_an_administrator_keeps_names_and_patterns_and_the_task_sets_its_own() -> None:
    env = notebook_env(
        WORKER,
        {"WAREHOUSE_URL": "postgresql://db.internal/warehouse", "PATH": "/env/bin:/usr/bin"},
        keep=("AIRFLOW__CORE__DEFAULT_TIMEZONE", "AIRFLOW_VAR_PUBLIC_*"),
    )

    assert env["AIRFLOW__CORE__DEFAULT_TIMEZONE"] == "Europe/Berlin"
    assert env["AIRFLOW_VAR_PUBLIC_REGION"] == "north"
    assert env["WAREHOUSE_URL"] == "postgresql://db.internal/warehouse"
    assert env["PATH"] == "/env/bin:/usr/bin"  # the task's value wins
    assert "AIRFLOW_VAR_API_TOKEN" not in env
    assert "AIRFLOW__CORE__FERNET_KEY" not in env


def test_a_left_out_name_the_task_sets_on_purpose_reaches_the_notebook() -> None:
    env = notebook_env(WORKER, {"AIRFLOW_CONN_REPORTING": "https://reports.internal"})

    assert env["AIRFLOW_CONN_REPORTING"] == "https://reports.internal"
    assert "AIRFLOW_CONN_WAREHOUSE" not in env


def operator(tmp_path: Path, env: object) -> JupyterCondaOperator:
    with dag_in(tmp_path, "env_check"):
        return JupyterCondaOperator(
            task_id="nb", input_nb="in.ipynb", output_nb="out.ipynb", conda_env="base", env=env
        )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"1ST": "x"},
            "env: '1ST' is not a valid environment variable name" + NAME_RULE,
        ),
        (
            {"API-TOKEN": "x"},
            "env: 'API-TOKEN' is not a valid environment variable name" + NAME_RULE,
        ),
        (
            {"": "x"},
            "env: '' is not a valid environment variable name" + NAME_RULE,
        ),
        ({"FLAGS": ["a", "b"]}, "env['FLAGS'] must be text or a number, got a list"),
        ({"DEBUG": True}, "env['DEBUG'] must be text or a number, got a bool"),
        ("API_TOKEN=abc", "env must be a dict of variable names to values, got a str"),
    ],
)
def test_a_wrong_env_fails_the_dag_file_naming_it_but_never_its_value(
    tmp_path: Path, env: object, message: str
) -> None:
    with pytest.raises(InvalidRunError) as caught:
        operator(tmp_path, env)

    assert str(caught.value) == message
    assert "abc" not in str(caught.value)


def test_templated_values_wait_for_rendering_and_numbers_become_text(tmp_path: Path) -> None:
    from airflow_jupyter_provider.run.request import NotebookRun

    op = operator(tmp_path, {"API_TOKEN": "{{ var.value.api_token }}", "WORKERS": 4})

    run = NotebookRun.create(input_nb="in.ipynb", output_nb="out.ipynb", conda_env="base", env=op.env)
    assert run.env == {"API_TOKEN": "{{ var.value.api_token }}", "WORKERS": "4"}
    assert "API_TOKEN" not in repr(run)  # a run's repr (in a log, a traceback) shows no env

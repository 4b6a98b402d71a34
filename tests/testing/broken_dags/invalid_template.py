"""A template that is not valid Jinja: every run would fail to render it."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

OUTPUT = "output/{{ dag.dag_id }}/{{ run_id }}.ipynb"

with DAG(
    dag_id="invalid_template",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    params={"notebook": Param("forecast", type="string")},
):
    JupyterCondaOperator(
        task_id="run",
        conda_env="jupyter-demo",
        input_nb="notebooks/{{ params.notebook }.ipynb",
        output_nb=OUTPUT,
    )

"""The notebook a param's default names is not there: a typo in the default, found after rendering."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

OUTPUT = "output/{{ dag.dag_id }}/{{ run_id }}.ipynb"

with DAG(
    dag_id="missing_notebook",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    params={"notebook": Param("forcast", type="string")},
):
    JupyterCondaOperator(
        task_id="run",
        conda_env="jupyter-demo",
        input_nb="notebooks/{{ params.notebook }}.ipynb",
        output_nb=OUTPUT,
    )

"""The DAG's params, handed over whole, hold one the notebook does not declare."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

OUTPUT = "output/{{ dag.dag_id }}/{{ run_id }}.ipynb"

with DAG(
    dag_id="params_not_in_notebook",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    params={"days": Param(7, type="integer"), "horizon": Param(30, type="integer")},
):
    JupyterCondaOperator(
        task_id="run",
        conda_env="jupyter-demo",
        input_nb="notebooks/forecast.ipynb",
        output_nb=OUTPUT,
        parameters="{{ params | tojson }}",
    )

"""Parameters that render to text that is not JSON: the run would fail after rendering."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

OUTPUT = "output/{{ dag.dag_id }}/{{ run_id }}.ipynb"

with DAG(
    dag_id="invalid_parameters",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    params={"settings": Param("days=3", type="string")},
):
    JupyterCondaOperator(
        task_id="run",
        conda_env="jupyter-demo",
        input_nb="notebooks/forecast.ipynb",
        output_nb=OUTPUT,
        parameters="{{ params.settings }}",
    )

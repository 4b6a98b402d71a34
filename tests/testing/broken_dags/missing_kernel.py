"""A kernel the environment folder does not have (it has python3 only)."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

OUTPUT = "output/{{ dag.dag_id }}/{{ run_id }}.ipynb"

with DAG(dag_id="missing_kernel", schedule=None, start_date=datetime(2025, 1, 1)):
    JupyterCondaOperator(
        task_id="run",
        conda_env="envs/demo",
        input_nb="notebooks/forecast.ipynb",
        output_nb=OUTPUT,
        kernel="ir",
    )

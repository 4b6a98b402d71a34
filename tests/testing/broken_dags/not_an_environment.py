"""An environment folder that is not a conda environment (no conda-meta/)."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

OUTPUT = "output/{{ dag.dag_id }}/{{ run_id }}.ipynb"

with DAG(dag_id="not_an_environment", schedule=None, start_date=datetime(2025, 1, 1)):
    JupyterCondaOperator(
        task_id="run",
        conda_env="envs/plain",
        input_nb="notebooks/forecast.ipynb",
        output_nb=OUTPUT,
    )

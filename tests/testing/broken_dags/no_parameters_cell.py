"""Parameters given to a notebook that has no cell tagged parameters."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

OUTPUT = "output/{{ dag.dag_id }}/{{ run_id }}.ipynb"

with DAG(dag_id="no_parameters_cell", schedule=None, start_date=datetime(2025, 1, 1)):
    JupyterCondaOperator(
        task_id="run",
        conda_env="jupyter-demo",
        input_nb="notebooks/no_parameters_cell.ipynb",
        output_nb=OUTPUT,
        parameters='{"days": 3}',
    )

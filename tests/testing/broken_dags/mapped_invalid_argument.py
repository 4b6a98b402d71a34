"""An invalid partial argument: Airflow checks it only when a worker makes a map index's task."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

OUTPUT = "output/{{ dag.dag_id }}/{{ run_id }}/{{ ti.map_index }}.ipynb"

with DAG(dag_id="mapped_invalid_argument", schedule=None, start_date=datetime(2025, 1, 1)):
    JupyterCondaOperator.partial(
        task_id="run",
        conda_env="jupyter-demo",
        input_nb="notebooks/forecast.ipynb",
        output_nb=OUTPUT,
        timeout=30,
        timeout_strategy="SOMETIMES",
    ).expand(parameters=[{"region": "south"}, {"region": "north"}])

"""A partial argument wrong for every map index: the finding is the whole task's, with no index."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

OUTPUT = "output/{{ dag.dag_id }}/{{ run_id }}/{{ ti.map_index }}.ipynb"

with DAG(dag_id="mapped_unknown_pool", schedule=None, start_date=datetime(2025, 1, 1)):
    JupyterCondaOperator.partial(
        task_id="run",
        conda_env="jupyter-demo",
        input_nb="notebooks/forecast.ipynb",
        output_nb=OUTPUT,
        worker_group="gpu_a100",
    ).expand(parameters=[{"region": "south"}, {"region": "north"}])

"""One notebook per region: the second region's parameters have a typo (map index 1)."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

OUTPUT = "output/{{ dag.dag_id }}/{{ run_id }}/{{ ti.map_index }}.ipynb"

with DAG(dag_id="mapped_unknown_parameter", schedule=None, start_date=datetime(2025, 1, 1)):
    JupyterCondaOperator.partial(
        task_id="run", conda_env="jupyter-demo", input_nb="notebooks/forecast.ipynb", output_nb=OUTPUT
    ).expand(parameters=[{"days": 3, "region": "south"}, {"days": 5, "reigon": "north"}])

"""One run per notebook: the second notebook's name has a typo (map index 1)."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

OUTPUT = "output/{{ dag.dag_id }}/{{ run_id }}/{{ ti.map_index }}.ipynb"

with DAG(dag_id="mapped_missing_notebook", schedule=None, start_date=datetime(2025, 1, 1)):
    JupyterCondaOperator.partial(task_id="run", conda_env="jupyter-demo", output_nb=OUTPUT).expand(
        input_nb=["notebooks/forecast.ipynb", "notebooks/forcast.ipynb"]
    )

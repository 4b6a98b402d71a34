"""An invalid partial argument that only making a map index's task checks (a worker does that).

The scheduling arguments (task_priority, worker_group, retry_interval, timeout, timeout_strategy,
description) are checked by ``partial()`` itself: a mistake there is an import error.
"""

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
        run_flag="PAUSED",
    ).expand(parameters=[{"region": "south"}, {"region": "north"}])

"""(skipped) The parameters of each map index come from an upstream task's XCom, known only in a run."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

OUTPUT = "output/{{ dag.dag_id }}/{{ run_id }}/{{ ti.map_index }}.ipynb"

with DAG(dag_id="mapped_needs_run", schedule=None, start_date=datetime(2025, 1, 1)):

    @task
    def regions() -> list[dict]:
        return [{"region": "south"}, {"region": "north"}]

    JupyterCondaOperator.partial(
        task_id="run", conda_env="jupyter-demo", input_nb="notebooks/forecast.ipynb", output_nb=OUTPUT
    ).expand(parameters=regions())

"""(skipped) expand_kwargs from an upstream task's XCom: every argument it gives is known only in a run."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

OUTPUT = "output/{{ dag.dag_id }}/{{ run_id }}/{{ ti.map_index }}.ipynb"

with DAG(dag_id="mapped_kwargs_need_run", schedule=None, start_date=datetime(2025, 1, 1)):

    @task
    def runs() -> list[dict]:
        return [{"input_nb": "notebooks/forecast.ipynb", "parameters": {"region": "south"}}]

    JupyterCondaOperator.partial(task_id="run", conda_env="jupyter-demo", output_nb=OUTPUT).expand_kwargs(
        runs()
    )

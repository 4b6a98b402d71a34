"""(skipped) The notebook's path comes from an upstream task's XCom, known only in a run."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

OUTPUT = "output/{{ dag.dag_id }}/{{ run_id }}.ipynb"

with DAG(dag_id="needs_run", schedule=None, start_date=datetime(2025, 1, 1)):
    JupyterCondaOperator(
        task_id="run",
        conda_env="jupyter-demo",
        input_nb="{{ ti.xcom_pull(task_ids='pick_notebook') }}",
        output_nb=OUTPUT,
    )

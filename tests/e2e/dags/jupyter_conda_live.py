"""A notebook that waits, in its fourth cell, for the file its ``release_file`` param names: the
live Notebook tab test sees the output of the cells before while the task still runs, then
creates the file and sees the task end."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

OUTPUT_DIR = "{{ var.value.jupyter_demo_output_dir }}/{{ dag.dag_id }}/{{ run_id }}"

with DAG(
    dag_id="jupyter_conda_live",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    params={"release_file": "/nonexistent/release"},
):
    JupyterCondaOperator(
        task_id="wait_for_release",
        conda_env="jupyter-demo",
        input_nb="notebooks/wait_for_release.ipynb",
        output_nb=f"{OUTPUT_DIR}/wait_for_release.ipynb",
        parameters={"release_file": "{{ params.release_file }}"},
        kernel="python3",
        jupyter_execution_timeout=300,
    )

"""(skipped) A notebook in object storage, its bucket from a Variable's default: not checked."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

OUTPUT = "output/{{ dag.dag_id }}/{{ run_id }}.ipynb"

with DAG(dag_id="remote_notebook", schedule=None, start_date=datetime(2025, 1, 1)):
    JupyterCondaOperator(
        task_id="run",
        conda_env="jupyter-demo",
        input_nb="s3://{{ var.value.get('notebook_bucket', 'team-notebooks') }}/forecast.ipynb",
        output_nb=OUTPUT,
        parameters={"days": 3},
    )

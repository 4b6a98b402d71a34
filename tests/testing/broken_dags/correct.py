"""No finding: what the checks must accept, beside the broken DAGs of this folder.

A notebook path rendered from a Variable's default, the DAG's params handed over whole (one of
them declared on a line papermill's inspection cannot parse), a pool from the pools file and
one from the Airflow database, an environment folder whose kernel is named in another case,
a parameter without a default that the task gives, and a task of another operator.
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Param

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

OUTPUT = "output/{{ dag.dag_id }}/{{ ti.task_id }}/{{ run_id }}.ipynb"

with DAG(
    dag_id="correct",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    params={
        "days": Param(7, type="integer"),
        "region": Param("north", type="string"),
        "options": Param({"retries": 1}, type="object"),
    },
):
    start = EmptyOperator(task_id="start")
    forecast = JupyterCondaOperator(
        task_id="forecast",
        conda_env="envs/demo",
        input_nb="notebooks/{{ var.value.get('forecast_notebook', 'forecast') }}.ipynb",
        output_nb=OUTPUT,
        parameters="{{ params | tojson }}",
        kernel="Python3",
        worker_group="etl",
    )
    summary = JupyterCondaOperator(
        task_id="summary",
        conda_env="{{ var.value.get('summary_env', 'envs/demo') }}",
        input_nb="notebooks/needs_input.ipynb",
        output_nb=OUTPUT,
        parameters={"table": "sales", "limit": 5},
        worker_group="gpu",
    )
    start >> [forecast, summary]

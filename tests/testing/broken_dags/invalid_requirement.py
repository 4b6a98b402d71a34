"""A requirement line that is not PEP 508 once rendered: '=>' for '>='."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

with DAG(
    dag_id="invalid_requirement",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    params={"polars": Param("1.0", type="string")},
):
    JupyterCondaOperator(
        task_id="run",
        conda_env="jupyter-demo",
        input_nb="notebooks/forecast.ipynb",
        output_nb="output/{{ run_id }}.ipynb",
        parameters={"region": "north"},
        requirements=["duckdb", "polars=>{{ params.polars }}"],
    )

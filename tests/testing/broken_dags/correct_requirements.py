"""No finding: requirements as a file beside the DAG and as templated lines."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

with DAG(
    dag_id="correct_requirements",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    params={"polars": Param("1.0", type="string")},
):
    JupyterCondaOperator(
        task_id="from_file",
        conda_env="jupyter-demo",
        input_nb="notebooks/forecast.ipynb",
        output_nb="output/{{ run_id }}.ipynb",
        parameters={"region": "north"},
        requirements="requirements.txt",
    )
    JupyterCondaOperator(
        task_id="from_lines",
        conda_env="jupyter-demo",
        input_nb="notebooks/forecast.ipynb",
        output_nb="output/{{ run_id }}.ipynb",
        parameters={"region": "north"},
        requirements=["duckdb", "polars>={{ params.polars }}"],
    )

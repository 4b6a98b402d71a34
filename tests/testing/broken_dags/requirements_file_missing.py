"""The requirements file a param's default names is not beside the DAG: found after rendering."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

with DAG(
    dag_id="requirements_file_missing",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    params={"needs": Param("requirments", type="string")},
):
    JupyterCondaOperator(
        task_id="run",
        conda_env="jupyter-demo",
        input_nb="notebooks/forecast.ipynb",
        output_nb="output/{{ run_id }}.ipynb",
        parameters={"region": "north"},
        requirements="{{ params.needs }}.txt",
    )

"""No finding: params handed over as a dict by a DAG that renders templates as native objects."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

with DAG(
    dag_id="correct_native",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    render_template_as_native_obj=True,
    params={"days": Param(7, type="integer"), "region": Param("north", type="string")},
):
    JupyterCondaOperator(
        task_id="forecast",
        conda_env="jupyter-demo",
        input_nb="notebooks/forecast.ipynb",
        output_nb="output/{{ dag.dag_id }}/{{ ds_nodash }}/forecast.ipynb",
        parameters="{{ params }}",
    )

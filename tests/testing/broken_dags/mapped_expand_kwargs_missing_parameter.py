"""(strict) expand_kwargs: the second run gives no table to a notebook that needs one."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

OUTPUT = "output/{{ dag.dag_id }}/{{ run_id }}/{{ ti.map_index }}.ipynb"

with DAG(dag_id="mapped_expand_kwargs_missing_parameter", schedule=None, start_date=datetime(2025, 1, 1)):
    JupyterCondaOperator.partial(task_id="run", conda_env="jupyter-demo", output_nb=OUTPUT).expand_kwargs(
        [
            {"input_nb": "notebooks/needs_input.ipynb", "parameters": {"table": "sales"}},
            {"input_nb": "notebooks/needs_input.ipynb", "parameters": {"limit": 3}},
        ]
    )

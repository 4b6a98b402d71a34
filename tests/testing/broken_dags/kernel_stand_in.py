"""(no finding) A notebook written with nb_conda_kernels names kernel 'conda-env-analysis-py';
the environment folder's only Python kernel, python3, runs it in its place."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

OUTPUT = "output/{{ dag.dag_id }}/{{ run_id }}.ipynb"

with DAG(dag_id="kernel_stand_in", schedule=None, start_date=datetime(2025, 1, 1)):
    JupyterCondaOperator(
        task_id="run",
        conda_env="envs/demo",
        input_nb="notebooks/nb_conda_kernel.ipynb",
        output_nb=OUTPUT,
    )

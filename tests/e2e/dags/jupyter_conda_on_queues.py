"""Two notebook tasks for two groups of Celery workers, as DolphinScheduler worker groups.

The operator is used as in any DAG: ``queue`` (a BaseOperator argument) routes a task to the
Celery workers listening on that queue, ``worker_group`` (the pool of the same name) limits how
many of the group's tasks run at once. The workers share no disk with the API server: the
executed notebooks go to object storage (the Variable ``jupyter_notebook_store``, a URL) through
the connection ``notebook_store``, where the API server's Notebook tab reads them.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

OUTPUT_DIR = "{{ var.value.jupyter_notebook_store }}/{{ dag.dag_id }}/{{ run_id }}"

with DAG(dag_id="jupyter_conda_on_queues", schedule=None, start_date=datetime(2025, 1, 1), catchup=False):
    for queue, region in (("notebooks_north", "north"), ("notebooks_south", "south")):
        JupyterCondaOperator(
            task_id=f"forecast_{region}",
            queue=queue,
            worker_group=queue,
            conda_env="jupyter-demo",
            input_nb="../../../example_dags/notebooks/demand_forecast.ipynb",
            output_nb=f"{OUTPUT_DIR}/forecast_{region}.ipynb",
            notebook_conn_id="notebook_store",
            parameters={"days": 2, "growth_rate": 0.1, "region": region, "products": ["apples"]},
            kernel="python3",
        )

"""Two notebook tasks given secrets through ``env``: a connection from the metadata database
(``warehouse``, its URI), one from the worker's environment (``ledger``, its password), a
Variable of a sensitive name (``api_token``), and a plain value. The notebook prints its
environment's names, then each variable with its value. ``to_local`` writes its notebook to the
demo's output folder, ``to_s3`` to object storage through the connection ``secrets_store``.

The secrets test defines the connection ``warehouse``, the Variables ``api_token`` and
``jupyter_secrets_bucket`` and the connection ``secrets_store`` through the REST API before it
triggers a run.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

ENV = {
    "WAREHOUSE_URL": "{{ conn.warehouse.get_uri() }}",
    "LEDGER_PASSWORD": "{{ conn.ledger.password }}",
    "API_TOKEN": "{{ var.value.api_token }}",
    "PLAIN": "plain-visible-value",
}
RUN_FOLDER = "{{ dag.dag_id }}/{{ run_id }}"

with DAG(dag_id="jupyter_conda_secrets", schedule=None, start_date=datetime(2025, 1, 1), catchup=False):
    JupyterCondaOperator(
        task_id="to_local",
        conda_env="jupyter-demo",
        input_nb="notebooks/print_env.ipynb",
        output_nb=f"{{{{ var.value.jupyter_demo_output_dir }}}}/{RUN_FOLDER}/to_local.ipynb",
        env=ENV,
        kernel="python3",
        retries=0,
    )
    JupyterCondaOperator(
        task_id="to_s3",
        conda_env="jupyter-demo",
        input_nb="notebooks/print_env.ipynb",
        output_nb=f"s3://{{{{ var.value.jupyter_secrets_bucket }}}}/{RUN_FOLDER}/to_s3.ipynb",
        notebook_conn_id="secrets_store",
        env=ENV,
        kernel="python3",
        retries=0,
    )

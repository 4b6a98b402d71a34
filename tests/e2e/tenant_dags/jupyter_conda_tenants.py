"""Notebook tasks of two tenants (``run_as_user``) in one DAG run, all writing into the run's one
folder under the Variable ``jupyter_tenant_output_dir``: ``tenant_a`` and ``tenant_b`` print
their environment (given secrets through ``env``, as the secrets DAG does) and probe their
ancestor processes, writing what they found to a file under ``jupyter_tenant_probe_dir``;
``tenant_a_fails`` prints the secret it is given, then fails in a cell, leaving its partial
notebook.

The tenants' OS users, the connection ``warehouse`` and the Variable ``api_token`` are made by
the tests (``tenant_stack`` in ``tests/e2e/conftest.py``).
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
OUTPUT_NB = "{{ var.value.jupyter_tenant_output_dir }}/{{ dag.dag_id }}/{{ run_id }}/{{ task.task_id }}.ipynb"

with DAG(dag_id="jupyter_conda_tenants", schedule=None, start_date=datetime(2025, 1, 1), catchup=False):
    for task_id, user in (("tenant_a", "jc-tenant-a"), ("tenant_b", "jc-tenant-b")):
        JupyterCondaOperator(
            task_id=task_id,
            run_as_user=user,
            conda_env="jupyter-demo",
            input_nb="notebooks/tenant_probe.ipynb",
            output_nb=OUTPUT_NB,
            parameters={"probe_file": "{{ var.value.jupyter_tenant_probe_dir }}/{{ task.task_id }}.json"},
            env=ENV,
            kernel="python3",
            retries=0,
        )
    JupyterCondaOperator(
        task_id="tenant_a_fails",
        run_as_user="jc-tenant-a",
        conda_env="jupyter-demo",
        input_nb="notebooks/tenant_fails.ipynb",
        output_nb=OUTPUT_NB,
        parameters={"label": "tenant a"},
        env={"API_TOKEN": "{{ var.value.api_token }}"},
        kernel="python3",
        retries=0,
    )

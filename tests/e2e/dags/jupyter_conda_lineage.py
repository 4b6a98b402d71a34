"""Two notebook tasks whose OpenLineage events the lineage test reads: one succeeds in the demo's
packed environment (the Variable ``jupyter_demo_env_archive``) with parameters of every JSON
type, the other fails in a known cell in the named environment ``jupyter-demo``, at once
(``retries=0``)."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

OUTPUT_DIR = "{{ var.value.jupyter_demo_output_dir }}/{{ dag.dag_id }}/{{ run_id }}"
#: Parameters of each JSON type; the lineage test expects them as they are here.
PARAMETERS = {
    "days": 3,
    "growth_rate": 0.25,
    "region": "north",
    "products": ["apples", "pears"],
    "dry_run": False,
    "limits": {"max_rows": 10},
    "comment": None,
}

with DAG(dag_id="jupyter_conda_lineage", schedule=None, start_date=datetime(2025, 1, 1), catchup=False):
    JupyterCondaOperator(
        task_id="report",
        conda_env="{{ var.value.jupyter_demo_env_archive }}",
        input_nb="notebooks/lineage_report.ipynb",
        output_nb=f"{OUTPUT_DIR}/lineage_report.ipynb",
        parameters=PARAMETERS,
        kernel="python3",
        jupyter_execution_timeout=120,
        retries=0,
    )
    JupyterCondaOperator(
        task_id="fails_in_a_cell",
        conda_env="jupyter-demo",
        input_nb="notebooks/lineage_fails.ipynb",
        output_nb=f"{OUTPUT_DIR}/lineage_fails.ipynb",
        parameters={"region": "south"},
        kernel="python3",
        jupyter_execution_timeout=120,
        retries=0,
    )

"""Run a notebook in a packed conda environment: a conda-pack archive, no conda needed.

The archive's path comes from the Variable ``jupyter_demo_env_archive`` (default
``/opt/conda-envs/jupyter-demo.tar.gz``); make it on a machine with conda:
``conda pack -n jupyter-demo -o jupyter-demo.tar.gz``. Each run unpacks it into a
folder of its own, activates it and runs ``conda-unpack`` there.

The trigger form offers the notebook's parameters, read from its ``parameters`` cell by
``notebook_params``; they reach the notebook typed
(``window`` an int, ``threshold`` a float, ``readings`` a list of numbers). Executed
notebooks go under the Variable ``jupyter_demo_output_dir`` (default ``/tmp/jupyter-demo``).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_jupyter_provider.notebook_params import notebook_params
from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

NOTEBOOK = "notebooks/sensor_statistics.ipynb"

ARCHIVE = "{{ var.value.get('jupyter_demo_env_archive', '/opt/conda-envs/jupyter-demo.tar.gz') }}"
# One folder per DAG run, under the Variable jupyter_demo_output_dir.
OUTPUT_DIR = (
    "{{ var.value.get('jupyter_demo_output_dir', '/tmp/jupyter-demo') }}/{{ dag.dag_id }}/{{ run_id }}"
)

with DAG(
    dag_id="jupyter_conda_packed_env",
    description="Sensor statistics notebook in a conda-pack archive of jupyter-demo",
    doc_md=__doc__,
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    tags=["jupyter", "example"],
    params=notebook_params(
        NOTEBOOK,
        {
            "window": {"minimum": 1},
            "threshold": {"exclusiveMinimum": 0},
            "sensor": {"minLength": 1},
            "readings": {"items": {"type": "number"}, "minItems": 1},
        },
    ),
):
    JupyterCondaOperator(
        task_id="sensor_statistics",
        description="Mean, spread, moving average and outliers of a series of readings.",
        conda_env=ARCHIVE,
        input_nb=NOTEBOOK,
        output_nb=f"{OUTPUT_DIR}/sensor_statistics.ipynb",
        parameters="{{ params | tojson }}",
        kernel="python3",
        jupyter_execution_timeout=60,
        jupyter_start_timeout=60,
        task_priority="MEDIUM",
        worker_group="default",
        retries=2,
        retry_interval=1,
        timeout=15,
        timeout_strategy="FAILED",
    )

"""Run a notebook in a conda environment known to the worker by name.

The trigger form offers the notebook's parameters (the DAG's ``params``), read from the
notebook's ``parameters`` cell by ``notebook_params``: each default, its type and the comment
after it; the DAG only tightens a few. The task hands them to papermill with their JSON
types, so ``days`` arrives in the notebook as an int, ``growth_rate`` as a float and
``products`` as a list. The notebook's last cell, tagged ``results``, shows a JSON object;
the task pushes it to XCom as ``results``, and ``report_busiest_product`` reads it with its
types.

Set up once on the worker:

- a conda environment named ``jupyter-demo`` with papermill and ipykernel in it
  (``conda create -n jupyter-demo python papermill ipykernel``);
- the ``jupyter_conda_default`` connection, whose ``conda_path`` extra names your
  ``<conda base>/etc/profile.d/conda.sh``;
- optionally the Variable ``jupyter_demo_output_dir``: the folder the executed notebooks
  go to (default ``/tmp/jupyter-demo``).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task

from airflow_jupyter_provider.notebook_params import notebook_params
from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

# Relative paths are taken from this file's folder.
NOTEBOOK = "notebooks/demand_forecast.ipynb"

# One folder per DAG run, under the Variable jupyter_demo_output_dir.
OUTPUT_DIR = (
    "{{ var.value.get('jupyter_demo_output_dir', '/tmp/jupyter-demo') }}/{{ dag.dag_id }}/{{ run_id }}"
)

with DAG(
    dag_id="jupyter_conda_named_env",
    description="Demand forecast notebook in the named conda environment jupyter-demo",
    doc_md=__doc__,
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    tags=["jupyter", "example"],
    # One field per parameter of the notebook; these only add limits to what the notebook says.
    params=notebook_params(
        NOTEBOOK,
        {
            "days": {"minimum": 1, "maximum": 30},
            "growth_rate": {"minimum": -1, "maximum": 1},
            "region": {"minLength": 1},
            "products": {"minItems": 1},
        },
    ),
):
    forecast = JupyterCondaOperator(
        task_id="demand_forecast",
        description="Projects each product's daily demand and prints a table of it.",
        conda_env="jupyter-demo",
        input_nb=NOTEBOOK,
        output_nb=f"{OUTPUT_DIR}/demand_forecast.ipynb",
        # The DAG run's params as JSON text: the operator parses it after rendering, types intact.
        parameters="{{ params | tojson }}",
        kernel="python3",
        jupyter_execution_timeout=60,
        task_priority="HIGH",
        worker_group="default",
        retries=1,
        retry_interval=2,
        timeout=10,
    )

    @task
    def report_busiest_product(results: dict) -> str:
        """A later task using the notebook's results: numbers arrive as numbers."""
        busiest = results["busiest_product"]
        share = results["totals"][busiest] / results["total_units"]
        line = f"{busiest} is {share:.0%} of the {results['total_units']} units forecast"
        print(line)
        return line

    report_busiest_product(forecast.output["results"])

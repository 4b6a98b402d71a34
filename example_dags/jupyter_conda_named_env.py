"""Run a notebook in a conda environment known to the worker by name.

The trigger form offers the notebook's parameters (the DAG's ``params``); the task hands
them to papermill with their JSON types, so ``days`` arrives in the notebook as an int,
``growth_rate`` as a float and ``products`` as a list. The notebook's last cell, tagged
``results``, shows a JSON object; the task pushes it to XCom as ``results``, and
``report_busiest_product`` reads it with its types.

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

from airflow.sdk import DAG, Param, task

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

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
    params={
        "days": Param(7, type="integer", minimum=1, maximum=30, description="Days to forecast"),
        "growth_rate": Param(
            0.05, type="number", minimum=-1, maximum=1, description="Daily growth: 0.05 is 5%"
        ),
        "region": Param("north", type="string", minLength=1, description="Region the forecast is for"),
        "products": Param(
            ["apples", "pears", "plums"], type="array", minItems=1, description="Products, one a line"
        ),
    },
):
    forecast = JupyterCondaOperator(
        task_id="demand_forecast",
        description="Projects each product's daily demand and prints a table of it.",
        conda_env="jupyter-demo",
        # Relative paths are taken from this file's folder.
        input_nb="notebooks/demand_forecast.ipynb",
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

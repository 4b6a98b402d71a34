"""No finding: mapped tasks the checks must accept.

One notebook per region (expand over parameters; a pool from the pools file, an environment
folder and a kernel as partial arguments), a notebook with each of its parameter sets (expand
over two arguments), and expand_kwargs giving each run its notebook and the parameters it needs.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

OUTPUT = "output/{{ dag.dag_id }}/{{ run_id }}/{{ ti.map_index }}.ipynb"

with DAG(dag_id="correct_mapped", schedule=None, start_date=datetime(2025, 1, 1)):
    JupyterCondaOperator.partial(
        task_id="per_region",
        conda_env="envs/demo",
        input_nb="notebooks/forecast.ipynb",
        output_nb=OUTPUT,
        kernel="python3",
        worker_group="etl",
    ).expand(parameters=[{"days": 3, "region": "south"}, {"region": "north"}, {}])
    JupyterCondaOperator.partial(task_id="two_arguments", conda_env="envs/demo", output_nb=OUTPUT).expand(
        input_nb=["notebooks/forecast.ipynb"], parameters=[{"days": 1}, {"region": "east"}]
    )
    JupyterCondaOperator.partial(
        task_id="each_its_own", conda_env="envs/demo", output_nb=OUTPUT
    ).expand_kwargs(
        [
            {"input_nb": "notebooks/forecast.ipynb", "parameters": {"days": 1}},
            {"input_nb": "notebooks/needs_input.ipynb", "parameters": {"table": "orders"}},
        ]
    )

"""A mapped JupyterCondaOperator as Airflow runs it: ``partial(...).expand(...)`` through
``airflow dags test``, with the DolphinScheduler arguments that set BaseOperator arguments.

``partial()`` fills in Airflow's default for every BaseOperator argument not given, and the worker
builds each map index's task with them; those defaults must not read as the author setting
``priority_weight`` next to ``task_priority``, say.
"""

from __future__ import annotations

import os
import sqlite3
import textwrap
from pathlib import Path

import nbformat
import pytest

from tests.helpers import CondaInstall, airflow_dags_test, write_notebook

pytestmark = pytest.mark.e2e

DAG_FILE = """
from airflow.sdk import DAG
from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

with DAG("mapped_runs", schedule=None):
    JupyterCondaOperator.partial(
        task_id="per_region",
        input_nb={notebook!r},
        output_nb="out/{{{{ ti.map_index }}}}.ipynb",
        conda_env={env!r},
        task_priority="HIGH",
        retry_interval=1,
        timeout=5,
        timeout_strategy="FAILED",
    ).expand(parameters=[{{"region": "north"}}, {{"region": "south"}}])
"""


def test_each_map_index_runs_with_the_dolphinscheduler_arguments_mapped(
    conda_connection: CondaInstall, airflow_db: None, tmp_path: Path
) -> None:
    dags = tmp_path / "dags"
    notebook = write_notebook(dags / "region.ipynb", "region = ''", "print('forecast for', region)")
    dag_file = dags / "mapped_runs.py"
    dag_file.write_text(
        textwrap.dedent(DAG_FILE).format(notebook=str(notebook), env=conda_connection.env_name)
    )

    result, _ = airflow_dags_test("mapped_runs", dag_file)

    with sqlite3.connect(Path(os.environ["AIRFLOW_HOME"]) / "airflow.db") as db:
        rows = db.execute(
            "SELECT map_index, state, priority_weight FROM task_instance WHERE dag_id = 'mapped_runs' "
            "ORDER BY map_index"
        ).fetchall()
    log = result.stdout + result.stderr
    assert rows == [(0, "success", 4), (1, "success", 4)], log[-5000:]
    for index, region in enumerate(["north", "south"]):
        executed = nbformat.read(dags / "out" / f"{index}.ipynb", as_version=4)
        assert executed.cells[-1].outputs[0]["text"] == f"forecast for {region}\n"

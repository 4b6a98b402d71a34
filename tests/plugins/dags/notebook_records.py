"""Task instances that record their output notebook the way JupyterCondaOperator does (XCom
``NOTEBOOK_XCOM_KEY``: ``{"output_nb": <absolute path>, "conn_id": None}``, the notebook stamped
with its task instance), and some whose record must not be served.

The files go under the folder in the environment variable NOTEBOOK_VIEW_OUTPUT.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nbformat
import pendulum
from airflow.sdk import dag, get_current_context, task

from airflow_jupyter_provider.notebook_stamp import stamp, task_instance_identity
from airflow_jupyter_provider.plugins import NOTEBOOK_XCOM_KEY


def output_file(suffix: str = ".ipynb") -> Path:
    """This task instance's own file under NOTEBOOK_VIEW_OUTPUT."""
    ti = get_current_context()["ti"]
    folder = Path(os.environ["NOTEBOOK_VIEW_OUTPUT"], ti.dag_id, ti.run_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{ti.task_id}-{ti.map_index}{suffix}"


def record(value: Any) -> None:
    get_current_context()["ti"].xcom_push(key=NOTEBOOK_XCOM_KEY, value=value)


def record_path(path: Path | str) -> None:
    record({"output_nb": str(path), "conn_id": None})


def executed_notebook(output: str, *, stamped: bool = True) -> Path:
    """A one-cell notebook as papermill leaves it after printing ``output``, stamped with this
    task instance."""
    ti = get_current_context()["ti"]
    cell = nbformat.v4.new_code_cell("print(output)", execution_count=1)
    cell.metadata["papermill"] = {"status": "completed"}
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{output}\n")]
    notebook = nbformat.v4.new_notebook(cells=[cell])
    if stamped:
        stamp(notebook, task_instance_identity(ti.dag_id, ti.run_id, ti.task_id, ti.map_index))
    path = output_file()
    nbformat.write(notebook, path)
    return path


@dag(schedule=None, start_date=pendulum.datetime(2025, 1, 1), catchup=False)
def notebook_view_records():
    @task
    def rendered():
        record_path(executed_notebook("forecast for north: 7 days"))

    @task
    def part(number: int):
        record_path(executed_notebook(f"output of part {number}"))

    @task
    def live():
        """Its notebook is rewritten by the tests, as papermill rewrites it after each cell."""
        record_path(executed_notebook("first cell done"))

    @task
    def vanished():
        """Records a notebook that is gone by the time anyone looks."""
        record_path(output_file())

    @task
    def elsewhere():
        """A forged record: a file that is no notebook."""
        record_path("/etc/passwd")

    @task
    def linked():
        """A forged record: an .ipynb symlink to a file that is no notebook."""
        link = output_file()
        link.symlink_to("/etc/passwd")
        record_path(link)

    @task
    def relative():
        """A record that is not an absolute path."""
        record_path(os.path.relpath(executed_notebook("relative")))

    @task
    def borrowed():
        """A forged record: the stamped notebook of another task instance of this run."""
        ti = get_current_context()["ti"]
        record_path(Path(os.environ["NOTEBOOK_VIEW_OUTPUT"], ti.dag_id, ti.run_id, "rendered--1.ipynb"))

    @task
    def unstamped():
        """A forged record: a notebook no task instance stamped."""
        record_path(executed_notebook("output of unstamped", stamped=False))

    @task
    def malformed():
        """A record that is no ``{"output_nb": ..., "conn_id": ...}``."""
        record(str(executed_notebook("output of malformed")))

    @task
    def web():
        """A forged record: a URL on the web, which the API server must not fetch."""
        record({"output_nb": "http://127.0.0.1:9/forecast.ipynb", "conn_id": None})

    @task
    def stored():
        """Its notebook goes to object storage (S3 through the connection ``notebook_s3``); the
        tests put it there, as a worker on another machine would."""
        ti = get_current_context()["ti"]
        url = f"s3://notebooks/{ti.dag_id}/{ti.run_id}/{ti.task_id}.ipynb"
        record({"output_nb": url, "conn_id": "notebook_s3"})

    @task
    def no_record():
        pass

    rendered() >> borrowed()
    unstamped()
    part.expand(number=[0, 1])
    live()
    vanished()
    elsewhere()
    linked()
    relative()
    malformed()
    web()
    stored()
    no_record()


@dag(schedule=None, start_date=pendulum.datetime(2025, 1, 1), catchup=False)
def notebook_view_other():
    @task
    def secret():
        record_path(executed_notebook("output of another DAG"))

    secret()


notebook_view_records()
notebook_view_other()

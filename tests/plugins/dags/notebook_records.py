"""Task instances that record a rendered notebook the way JupyterCondaOperator does (XCom
``output_html``: the absolute path of an HTML file stamped with its task instance), and some
whose record must not be served.

The files go under the folder in the environment variable NOTEBOOK_VIEW_OUTPUT.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pendulum
from airflow.sdk import dag, get_current_context, task

from airflow_jupyter_provider.plugins import OUTPUT_HTML_XCOM_KEY
from airflow_jupyter_provider.run.render import render_html


def output_file(suffix: str = ".html") -> Path:
    """This task instance's own file under NOTEBOOK_VIEW_OUTPUT."""
    ti = get_current_context()["ti"]
    folder = Path(os.environ["NOTEBOOK_VIEW_OUTPUT"], ti.dag_id, ti.run_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{ti.task_id}-{ti.map_index}{suffix}"


def record(path: Path | str) -> None:
    get_current_context()["ti"].xcom_push(key=OUTPUT_HTML_XCOM_KEY, value=str(path))


def rendered_notebook(output: str) -> Path:
    """An executed one-cell notebook that printed ``output``, rendered as the operator does."""
    ti = get_current_context()["ti"]
    cell = nbformat.v4.new_code_cell("print(output)", execution_count=1)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{output}\n")]
    notebook = output_file(".ipynb")
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), notebook)
    owner = {"dag_id": ti.dag_id, "run_id": ti.run_id, "task_id": ti.task_id, "map_index": ti.map_index}
    render_html(str(notebook), output_file(), owner)
    return output_file()


@dag(schedule=None, start_date=pendulum.datetime(2025, 1, 1), catchup=False)
def notebook_view_records():
    @task
    def rendered():
        record(rendered_notebook("forecast for north: 7 days"))

    @task
    def part(number: int):
        record(rendered_notebook(f"output of part {number}"))

    @task
    def vanished():
        """Records an HTML file that is gone by the time anyone looks."""
        record(output_file())

    @task
    def elsewhere():
        """A forged record: a file that is no rendered notebook."""
        record("/etc/passwd")

    @task
    def linked():
        """A forged record: an .html symlink to a file that is no rendered notebook."""
        link = output_file()
        link.symlink_to("/etc/passwd")
        record(link)

    @task
    def relative():
        """A record that is not an absolute path."""
        path = rendered_notebook("relative")
        record(os.path.relpath(path))

    @task
    def borrowed():
        """A forged record: the rendered notebook of another task instance of this run."""
        ti = get_current_context()["ti"]
        record(Path(os.environ["NOTEBOOK_VIEW_OUTPUT"], ti.dag_id, ti.run_id, "rendered--1.html"))

    @task
    def unstamped():
        """A forged record: an HTML file no notebook run rendered."""
        path = output_file()
        path.write_text("<!doctype html><html><head></head><body><pre>output of unstamped</pre>")
        record(path)

    @task
    def no_record():
        pass

    rendered() >> borrowed()
    unstamped()
    part.expand(number=[0, 1])
    vanished()
    elsewhere()
    linked()
    relative()
    no_record()


@dag(schedule=None, start_date=pendulum.datetime(2025, 1, 1), catchup=False)
def notebook_view_other():
    @task
    def secret():
        record(rendered_notebook("output of another DAG"))

    secret()


notebook_view_records()
notebook_view_other()

"""What the Notebook tab's tests share: the DAG runs whose notebooks they ask for."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import nbformat

from airflow_jupyter_provider.notebook_stamp import stamp, task_instance_identity
from airflow_jupyter_provider.plugins import URL_PREFIX

#: The DAG of dags/notebook_records.py whose task instances the tests view.
RECORDS = "notebook_view_records"


@dataclass(frozen=True)
class NotebookRuns:
    records_run_id: str
    other_run_id: str
    output: Path


@dataclass(frozen=True)
class NotebookStore:
    """S3 (moto) where a worker on another machine would put its output notebooks."""

    client: Any
    bucket: str


def notebook_url(
    dag_id: str, run_id: str, task_id: str, map_index: str = "{MAP_INDEX}", route: str = ""
) -> str:
    """The URL the UI's iframe asks for (the tab's href with the page's ids filled in as the UI
    does), and the tab's own requests: the same URL with ``/view`` or ``/status``."""
    ids = "/".join(quote(part, safe="") for part in (dag_id, run_id, task_id))
    return f"{URL_PREFIX}/notebook/{ids}{route}?map_index={quote(map_index, safe='{}')}"


def papermill_save(notebook_runs: NotebookRuns, *cells: tuple[str, str, str]) -> None:
    """Write the ``live`` task instance's notebook as papermill saves it: ``(source, status,
    stdout)`` per cell, the stamp kept."""
    path = notebook_runs.output / RECORDS / notebook_runs.records_run_id / "live--1.ipynb"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Live")])
    for number, (source, status, stdout) in enumerate(cells, start=1):
        cell = nbformat.v4.new_code_cell(source, execution_count=number if stdout else None)
        cell.metadata["papermill"] = {"status": status}
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stdout)] if stdout else []
        notebook.cells.append(cell)
    stamp(notebook, task_instance_identity(RECORDS, notebook_runs.records_run_id, "live", -1))
    nbformat.write(notebook, path)

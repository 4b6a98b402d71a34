"""What the Notebook tab's tests share: the DAG runs whose notebooks they ask for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
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


def live_notebook_path(notebook_runs: NotebookRuns) -> Path:
    """The file of the ``live`` task instance's notebook, which :func:`papermill_save` writes."""
    return notebook_runs.output / RECORDS / notebook_runs.records_run_id / "live--1.ipynb"


def papermill_save(
    notebook_runs: NotebookRuns, *cells: tuple[str, str, str] | tuple[str, str, str, float]
) -> None:
    """Write the ``live`` task instance's notebook as papermill saves it: ``(source, status,
    stdout)`` per cell, the stamp kept. A fourth value is the seconds the cell took (or, for a
    running cell, has been running), recorded with its times as papermill records them."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Live")])
    for number, (source, status, stdout, *took) in enumerate(cells, start=1):
        cell = nbformat.v4.new_code_cell(source, execution_count=number if stdout else None)
        cell.metadata["papermill"] = {"status": status, **(papermill_times(status, took[0]) if took else {})}
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stdout)] if stdout else []
        notebook.cells.append(cell)
    stamp(notebook, task_instance_identity(RECORDS, notebook_runs.records_run_id, "live", -1))
    nbformat.write(notebook, live_notebook_path(notebook_runs))


def papermill_times(status: str, seconds: float) -> dict[str, Any]:
    """A cell's times as papermill records them (a running cell has started, no more)."""
    started = datetime(2026, 12, 6, 9, 30, tzinfo=timezone.utc)
    if status == "running":
        return {"start_time": started.isoformat(), "end_time": None, "duration": None, "exception": None}
    ended = started + timedelta(seconds=seconds)
    times = {"start_time": started.isoformat(), "end_time": ended.isoformat(), "duration": seconds}
    return {**times, "exception": status == "failed"}

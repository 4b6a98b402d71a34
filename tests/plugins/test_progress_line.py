"""The line above the notebook in the Notebook tab: the running cell, or how the run ended."""

from __future__ import annotations

import nbformat
import pytest

from airflow_jupyter_provider.plugins.progress_line import NotebookProgress, progress_line


def saved_by_papermill(*cells: tuple[str, str], error_in: int | None = None) -> nbformat.NotebookNode:
    """A notebook as papermill saves it: ``(source, papermill status)`` per code cell, a markdown
    cell first; the cell at ``error_in`` shows an error output."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Forecast")])
    for number, (source, status) in enumerate(cells, start=1):
        cell = nbformat.v4.new_code_cell(source, execution_count=number)
        cell.metadata["papermill"] = {"status": status}
        if number == error_in:
            cell.outputs = [
                nbformat.v4.new_output("error", ename="ValueError", evalue="no data", traceback=[])
            ]
        notebook.cells.append(cell)
    return notebook


def test_the_running_cell_is_counted_among_the_code_cells_that_run() -> None:
    notebook = saved_by_papermill(
        ("rows = 5", "completed"),
        ("", "completed"),
        ("\n\nload(rows)  # slow\nplot()", "running"),
        ("x", "pending"),
    )

    progress = NotebookProgress.of(notebook)

    assert progress_line("running", False, progress) == "Running cell 2/3: load(rows)  # slow"


@pytest.mark.parametrize(
    ("state", "finished", "cells", "error_in", "line"),
    [
        ("success", True, [("a = 1", "completed")], None, "Finished: success"),
        ("failed", True, [("a = 1", "completed"), ("1 / 0", "failed")], 2, "Failed at cell [2]"),
        ("failed", True, [("a = 1", "completed")], None, "Finished: failed"),
        ("running", False, [("a = 1", "completed"), ("b = 2", "pending")], None, "Running"),
        ("up_for_retry", False, [("a = 1", "completed")], None, "Task is up for retry"),
    ],
)
def test_how_the_run_goes(state, finished, cells, error_in, line) -> None:
    progress = NotebookProgress.of(saved_by_papermill(*cells, error_in=error_in))
    assert progress_line(state, finished, progress) == line


@pytest.mark.parametrize(("state", "line"), [("queued", "Task is queued"), (None, "Task is not scheduled")])
def test_before_there_is_a_notebook(state, line) -> None:
    assert progress_line(state, False, None) == line

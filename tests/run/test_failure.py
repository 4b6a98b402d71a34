"""What the task log and the task's exception say about a failed cell, read from the output
notebook. ``papermill_output/failed_cell.ipynb`` is the notebook papermill wrote for the run
in ``failed_cell.log`` (see test_progress.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import nbformat
import pytest

from airflow_jupyter_provider.run.failure import FailedCell, find_failed_cell

FAILED_NOTEBOOK = Path(__file__).parent / "papermill_output" / "failed_cell.ipynb"


def test_report_shows_source_exception_and_traceback_without_colour_codes() -> None:
    failed = find_failed_cell(str(FAILED_NOTEBOOK))

    assert failed is not None
    assert failed.report() == [
        "cell 5/6 failed: ValueError: no data for 5",
        "Source of the cell:",
        "    import sys",
        "    print('to stderr', file=sys.stderr)",
        "    raise ValueError(f'no data for {rows}')",
        "Traceback:",
        "    ---------------------------------------------------------------------------",
        "    ValueError                                Traceback (most recent call last)",
        "    Cell In[5], line 3",
        "          1 import sys",
        "          2 print('to stderr', file=sys.stderr)",
        "    ----> 3 raise ValueError(f'no data for {rows}')",
        "",
        "    ValueError: no data for 5",
    ]
    assert failed.summary() == "cell [5] raised ValueError: no data for 5"


def error_notebook(ename: str, evalue: str) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("import time\ntime.sleep(600)", execution_count=2)
    cell.outputs = [nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: "])]
    notebook.cells = [nbformat.v4.new_code_cell("x = 1", execution_count=1), cell]
    return notebook


def test_interrupted_cell_is_said_as_the_execution_timeout_it_is() -> None:
    failed = FailedCell.find(error_notebook("KeyboardInterrupt", ""))

    assert failed is not None
    assert failed.summary(execution_timeout=30) == "cell [2] ran longer than jupyter_execution_timeout=30 s"
    # Without a timeout, a KeyboardInterrupt is what the cell raised.
    assert failed.summary() == "cell [2] raised KeyboardInterrupt"
    assert failed.report()[0] == "cell 2/2 failed: KeyboardInterrupt"


def test_notebook_without_an_error_and_unreadable_notebook(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notebook = error_notebook("ValueError", "x")
    notebook.cells[1].outputs = []
    assert FailedCell.find(notebook) is None

    with caplog.at_level(logging.WARNING):
        assert find_failed_cell(str(tmp_path / "missing.ipynb")) is None
    assert f"Could not read the output notebook {tmp_path / 'missing.ipynb'}" in caplog.text


def marked_failed(*stderr: str) -> nbformat.NotebookNode:
    """A notebook whose second cell papermill marked failed, showing only ``stderr`` streams."""
    notebook = error_notebook("ValueError", "x")
    cell = notebook.cells[1]
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=text) for text in stderr]
    cell.metadata["papermill"] = {"exception": True, "status": "failed"}
    return notebook


def test_cell_marked_failed_without_an_error_output_is_named_by_what_it_printed() -> None:
    printed = FailedCell.find(
        marked_failed("a warning\n", "\x1b[31mUsageError: Line magic function `%x` not found.\n")
    )
    unnamed = FailedCell.find(marked_failed("something went wrong\n"))
    silent = FailedCell.find(marked_failed())

    assert printed is not None and unnamed is not None and silent is not None
    assert printed.summary() == "cell [2] raised UsageError: Line magic function `%x` not found."
    assert unnamed.summary() == "cell [2] raised CellExecutionError: something went wrong"
    assert silent.summary() == "cell [2] raised CellExecutionError"
    # No traceback to show: the report is the cell and its source.
    assert silent.report() == [
        "cell 2/2 failed: CellExecutionError",
        "Source of the cell:",
        "    import time",
        "    time.sleep(600)",
    ]

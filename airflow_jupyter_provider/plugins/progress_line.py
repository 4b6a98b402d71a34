"""What the Notebook tab says above the notebook: the cell papermill is running, or how the task
instance ended. Cells are counted as the task log counts them (``run/progress.py``): ``cell N/M``
among the code cells that run, so N is the ``In [N]`` the notebook shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_jupyter_provider.run.failure import FailedCell
from airflow_jupyter_provider.run.progress import cell_runs, first_line

SUCCESS = "success"
FAILED = "failed"


@dataclass(frozen=True)
class NotebookProgress:
    """How far the run got, as the output notebook papermill saved last shows it."""

    #: ``(N, M, first source line)`` of the cell papermill marked running, if one is
    running: tuple[int, int, str] | None
    #: the ``In [N]`` of the cell that failed, if one did
    failed_at: int | None

    @classmethod
    def of(cls, notebook: Any) -> NotebookProgress:
        """Read ``notebook`` before it is rendered (rendering changes its outputs)."""
        cells = [cell for cell in notebook.cells if cell_runs(cell)]
        running = next(
            (
                (number, len(cells), first_line(cell.get("source", "")))
                for number, cell in enumerate(cells, start=1)
                if cell.get("metadata", {}).get("papermill", {}).get("status") == "running"
            ),
            None,
        )
        failed = FailedCell.find(notebook)
        return cls(running, None if failed is None else failed.execution_count)


def progress_line(state: str | None, finished: bool, progress: NotebookProgress | None) -> str:
    """``Running cell 2/3: <first line>``, ``Finished: success``, ``Failed at cell [4]``, ...

    ``state`` is the task instance's, ``progress`` None while there is no notebook to read.
    """
    if finished:
        if state == FAILED and progress is not None and progress.failed_at is not None:
            return f"Failed at cell [{progress.failed_at}]"
        return f"Finished: {state}"
    if progress is not None and progress.running is not None:
        number, count, label = progress.running
        return f"Running cell {number}/{count}: {label}"
    return "Running" if state == "running" else f"Task is {(state or 'not scheduled').replace('_', ' ')}"

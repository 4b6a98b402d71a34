"""What a failed run left in its output notebook: the cell that raised, and what it raised."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from airflow_jupyter_provider.run.progress import cell_runs, strip_ansi

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FailedCell:
    """The first cell of an executed notebook with an error output."""

    execution_count: int | None
    cells_that_run: int
    source: str
    ename: str
    evalue: str
    #: The traceback as IPython showed it, ANSI colour codes removed, one line per item.
    traceback: tuple[str, ...]

    @classmethod
    def find(cls, notebook: Any) -> FailedCell | None:
        """The failed cell of ``notebook`` (an nbformat notebook), if one shows an error."""
        cells_that_run = sum(map(cell_runs, notebook.cells))
        for cell in notebook.cells:
            for output in cell.get("outputs", []):
                if output.get("output_type") != "error":
                    continue
                return cls(
                    execution_count=cell.get("execution_count"),
                    cells_that_run=cells_that_run,
                    source=cell.get("source", ""),
                    ename=output.get("ename", ""),
                    evalue=output.get("evalue", ""),
                    traceback=tuple(strip_ansi("\n".join(output.get("traceback", []))).splitlines()),
                )
        return None

    def summary(self, execution_timeout: int | None = None) -> str:
        """'cell [N] raised Name: value', for the task's exception.

        papermill interrupts a cell that outlives ``--execution-timeout``; the cell then shows a
        bare KeyboardInterrupt, which is said as the timeout it is.
        """
        count = self.execution_count
        if execution_timeout is not None and self.ename == "KeyboardInterrupt" and not self.evalue:
            return f"cell [{count}] ran longer than jupyter_execution_timeout={execution_timeout} s"
        return f"cell [{count}] raised {self.raised}"

    @property
    def raised(self) -> str:
        """'Name: value', or the name alone for an exception without a value."""
        return f"{self.ename}: {self.evalue}" if self.evalue else self.ename

    def report(self) -> list[str]:
        """The lines the task log shows about the failure: the cell's source, the exception's
        name and value, and its traceback."""
        header = f"cell {self.execution_count}/{self.cells_that_run} failed: {self.raised}"
        lines = [header, "Source of the cell:"]
        lines += [f"    {line}".rstrip() for line in self.source.strip("\n").splitlines()]
        lines.append("Traceback:")
        lines += [f"    {line}".rstrip() for line in self.traceback]
        return lines


def find_failed_cell(output_nb: str) -> FailedCell | None:
    """The failed cell of the notebook at ``output_nb`` (a path or papermill I/O URL), if any."""
    from papermill.iorw import load_notebook_node

    try:
        notebook = load_notebook_node(output_nb)
    except Exception as err:  # the notebook may be missing or half written: say so, go on
        log.warning("Could not read the output notebook %s to find the failed cell: %s", output_nb, err)
        return None
    return FailedCell.find(notebook)

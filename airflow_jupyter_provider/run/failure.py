"""What a failed run left in its output notebook: the cell that raised, and what it raised.

A cell fails in one of two ways. Mostly it shows an error output (name, value, traceback). But
IPython only prints some errors, a line magic's ``UsageError`` above all (``%not_a_magic``,
``%timeit -badflag``): the cell then has just a stderr stream, and papermill marks it failed in
its metadata (``metadata.papermill.exception``), as papermill itself finds it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from airflow_jupyter_provider.run.progress import cell_runs, strip_ansi

log = logging.getLogger(__name__)

#: The last line an error printed to stderr: ``UsageError: Line magic function ...``.
_PRINTED_ERROR = re.compile(r"^([A-Za-z_][\w.]*): (.*)$")
#: A line or cell magic a cell calls, e.g. ``%timeit`` or ``%%bash``.
_MAGIC = re.compile(r"^\s*(%%?\w+)", re.MULTILINE)


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
        """The failed cell of ``notebook`` (an nbformat notebook), if one shows an error or
        papermill marked one failed."""
        cells_that_run = sum(map(cell_runs, notebook.cells))
        for cell in notebook.cells:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    return cls._of(cell, cells_that_run, output)
            if cell.get("metadata", {}).get("papermill", {}).get("exception") is True:
                return cls._printed(cell, cells_that_run)
        return None

    @classmethod
    def _of(cls, cell: Any, cells_that_run: int, error: Any) -> FailedCell:
        """The cell that shows the error output ``error``."""
        return cls(
            execution_count=cell.get("execution_count"),
            cells_that_run=cells_that_run,
            source=cell.get("source", ""),
            ename=error.get("ename", ""),
            evalue=error.get("evalue", ""),
            traceback=tuple(strip_ansi("\n".join(error.get("traceback", []))).splitlines()),
        )

    @classmethod
    def _printed(cls, cell: Any, cells_that_run: int) -> FailedCell:
        """The cell papermill marked failed that shows no error output: the error is the last
        line it printed to stderr (papermill's own name for it when that line names none)."""
        stderr = "".join(
            output.get("text", "")
            for output in cell.get("outputs", [])
            if output.get("output_type") == "stream" and output.get("name") == "stderr"
        )
        lines = [line.strip() for line in strip_ansi(stderr).splitlines() if line.strip()]
        match = _PRINTED_ERROR.match(lines[-1]) if lines else None
        ename, evalue = (match[1], match[2]) if match else ("CellExecutionError", lines[-1] if lines else "")
        return cls(cell.get("execution_count"), cells_that_run, cell.get("source", ""), ename, evalue, ())

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
        """'Name: value', or the name alone for an exception without a value. A magic's
        ``UsageError`` that does not name the magic (``option -b not recognized``) is said with
        the magics of the cell: ``UsageError in %timeit: ...``."""
        name = self.ename
        if name == "UsageError" and (magics := _magics(self.source)) and "%" not in self.evalue:
            name = f"{name} in {', '.join(magics)}"
        return f"{name}: {self.evalue}" if self.evalue else name

    def report(self) -> list[str]:
        """The lines the task log shows about the failure: the cell's source, the exception's
        name and value, and its traceback."""
        header = f"cell {self.execution_count}/{self.cells_that_run} failed: {self.raised}"
        lines = [header, "Source of the cell:"]
        lines += [f"    {line}".rstrip() for line in self.source.strip("\n").splitlines()]
        if self.traceback:
            lines.append("Traceback:")
            lines += [f"    {line}".rstrip() for line in self.traceback]
        return lines


def _magics(source: str) -> list[str]:
    """The magics ``source`` calls, each once, in order."""
    return list(dict.fromkeys(_MAGIC.findall(source)))


def find_failed_cell(output_nb: str) -> FailedCell | None:
    """The failed cell of the notebook at ``output_nb`` (a path or papermill I/O URL), if any."""
    from papermill.iorw import load_notebook_node

    try:
        notebook = load_notebook_node(output_nb)
    except Exception as err:  # the notebook may be missing or half written: say so, go on
        log.warning("Could not read the output notebook %s to find the failed cell: %s", output_nb, err)
        return None
    return FailedCell.find(notebook)

"""papermill's ``--log-output`` lines, turned into a task log a person can follow.

papermill announces each cell by its position among all cells of the notebook it runs
(markdown cells and the injected parameters cell included): ``Executing Cell 6-----``. The
worker reads the input notebook itself to say which cell that is: ``cell N/M: <its first
source line>``, where N counts the code cells that run, so it is the ``In [N]`` the executed
notebook shows, and M is how many run in all. Cell output passes through as it comes; what
means nothing to the user (the kernel's warnings and shutdown tracebacks, papermill's cell
end markers and progress bar, ``<IPython.core.display.JSON object>`` stand-ins of rich output,
blank lines) goes to DEBUG. ANSI colour codes are removed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

#: A line of the task log: its level (``logging.INFO``, ...) and its text.
LogLine = tuple[int, str]

#: nbclient does not run code cells with this tag (its ``skip_cells_with_tag`` default).
SKIP_EXECUTION_TAG = "skip-execution"
#: Longest first source line shown in a ``cell N/M`` line.
MAX_FIRST_LINE = 100

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_CELL_START = re.compile(r"^Executing Cell (\d+)-*$")
_CELL_END = re.compile(r"^Ending Cell \d+-*$")
# papermill's tqdm bar (``--progress-bar`` in ``others``) ends no line: it shares one with the next.
_PROGRESS_BAR = re.compile(r"\rExecuting[^\r|]*\d+%\|[^|]*\|[^\[\r]*\[[^\]\r]*\]")
# The text stand-in of a rich output (HTML, JSON, ...): the notebook and its HTML show the real one.
_DISPLAY_PLACEHOLDER = re.compile(r"^<IPython\.core\.display\.\w+ object>$")
_TRACEBACK = "Traceback (most recent call last):"
_KERNEL_LOG = "[IPKernelApp] "
_UNRAISABLE = "Exception ignored in"


def strip_ansi(text: str) -> str:
    """``text`` without ANSI escape sequences (colours, cursor moves)."""
    return _ANSI.sub("", text)


def cell_runs(cell: Any) -> bool:
    """Whether nbclient runs ``cell`` (and counts it in the ``In [N]`` numbering)."""
    return (
        cell.get("cell_type") == "code"
        and bool(cell.get("source", "").strip())
        and SKIP_EXECUTION_TAG not in cell.get("metadata", {}).get("tags", [])
    )


def first_line(source: str) -> str:
    """The first non-blank line of ``source``, shortened to MAX_FIRST_LINE characters."""
    line = next((line.strip() for line in source.splitlines() if line.strip()), "")
    return line if len(line) <= MAX_FIRST_LINE else line[: MAX_FIRST_LINE - 3] + "..."


@dataclass(frozen=True)
class CellPlan:
    """The cells of a notebook as papermill runs them: for each position, the ``(N, label)``
    of a cell that runs, or None for one that does not (markdown, empty, skipped)."""

    positions: tuple[tuple[int, str] | None, ...]

    @classmethod
    def of(cls, cells: Sequence[Any], injects_parameters: bool) -> CellPlan:
        """The plan of a notebook with ``cells``; with ``injects_parameters``, papermill adds
        its parameters cell where it does: in place of an ``injected-parameters`` cell, after
        the ``parameters`` cell, or first."""
        labels: list[str | None] = [first_line(c["source"]) if cell_runs(c) else None for c in cells]
        if injects_parameters:
            tags = [c.get("metadata", {}).get("tags", []) for c in cells]
            injected = "(injected parameters)"
            if (at := _first_tagged(tags, "injected-parameters")) is not None:
                labels[at] = injected
            elif (at := _first_tagged(tags, "parameters")) is not None:
                labels.insert(at + 1, injected)
            else:
                labels.insert(0, injected)
        positions, count = [], 0
        for label in labels:
            if label is None:
                positions.append(None)
            else:
                count += 1
                positions.append((count, label))
        return cls(tuple(positions))

    @property
    def cells_that_run(self) -> int:
        return sum(position is not None for position in self.positions)

    def describe(self, position: int) -> str | None:
        """``cell N/M: label`` for papermill's 1-based ``position``; None if that cell does not run."""
        if not 1 <= position <= len(self.positions) or self.positions[position - 1] is None:
            return None
        number, label = self.positions[position - 1]
        return f"cell {number}/{self.cells_that_run}: {label}"


def _first_tagged(tags: list[list[str]], tag: str) -> int | None:
    return next((index for index, cell_tags in enumerate(tags) if tag in cell_tags), None)


def load_input_notebook(input_nb: str) -> Any | None:
    """The notebook at ``input_nb`` (a path or papermill I/O URL), read once before the run for
    its :class:`CellPlan`, its kernel (``kernel_check.py``) and the stamped copy papermill runs
    (``staging.py``); None, with a warning, if the worker cannot read it (papermill in the
    environment may still can, unstamped: the Notebook tab will not show it)."""
    from papermill.iorw import load_notebook_node

    try:
        return load_notebook_node(input_nb)
    except Exception as err:
        log.warning(
            "Could not read %s to show which cell runs and check its kernel: %s (papermill runs it "
            "without the stamp the Notebook tab checks)",
            input_nb,
            err,
        )
        return None


class CellProgress:
    """Feed it papermill's output lines one by one; it says what the task log shows of each.

    Without a plan (the input notebook could not be read), papermill's own ``Executing Cell``
    lines are shown as they are.
    """

    def __init__(self, plan: CellPlan | None) -> None:
        self._plan = plan
        #: how many cells papermill has started: it saved the output notebook before each
        self.cells_started = 0
        self._in_cell = False
        # Outside cells, a traceback is papermill ending in error or the kernel's shutdown
        # noise: DEBUG until the next cell starts. The exception lines that end papermill's
        # are kept for when the notebook itself does not show what went wrong.
        self._in_traceback = False
        self._after_noise_header = False  # the kernel's log line or "Exception ignored in ..."
        self._keep_exception = False
        self._exception_lines: list[str] = []

    @property
    def papermill_error(self) -> list[str]:
        """The exception the last traceback outside cells ended with (its type and message),
        e.g. ``nbclient.exceptions.DeadKernelError: Kernel died``; empty if there was none."""
        lines = list(self._exception_lines)
        while lines and not lines[-1].strip():
            lines.pop()
        return lines

    def lines(self, raw: str) -> list[LogLine]:
        """The task log lines for one line papermill (or the kernel, or bash) wrote."""
        line = strip_ansi(raw).rstrip()
        bars: list[LogLine] = []
        if not self._in_cell:
            bars = [(logging.DEBUG, bar.strip()) for bar in _PROGRESS_BAR.findall(line)]
            line = _PROGRESS_BAR.sub("", line)
            if bars and not line:
                return bars
        if "\r" in line:  # what a terminal would show: the text after the last carriage return
            line = next((part for part in reversed(line.split("\r")) if part.strip()), "")
        return [*bars, self._classify(line)]

    def _classify(self, line: str) -> LogLine:
        after_noise_header, self._after_noise_header = self._after_noise_header, False
        if match := _CELL_START.match(line):
            self._in_cell, self._in_traceback = True, False
            self.cells_started += 1
            if self._plan is None:
                return logging.INFO, line
            described = self._plan.describe(int(match[1]))
            return (logging.INFO, described) if described else (logging.DEBUG, line)
        if _CELL_END.match(line):
            self._in_cell = False
            return logging.DEBUG, line
        if not line.strip():
            return logging.DEBUG, line
        if line.startswith(_KERNEL_LOG):
            self._after_noise_header = not self._in_cell
            return logging.DEBUG, line
        if self._in_cell:
            return (logging.DEBUG if _DISPLAY_PLACEHOLDER.match(line) else logging.INFO), line
        if line.startswith(_UNRAISABLE):
            self._in_traceback = self._after_noise_header = True
            return logging.DEBUG, line
        if line == _TRACEBACK:
            self._in_traceback = True
            self._keep_exception = not after_noise_header
            if self._keep_exception:
                self._exception_lines = []
            return logging.DEBUG, line
        if self._in_traceback:
            # Frames are indented; the exception and its message follow the last of them.
            if self._keep_exception and (self._exception_lines or not line.startswith(" ")):
                self._exception_lines.append(line)
            return logging.DEBUG, line
        return logging.INFO, line

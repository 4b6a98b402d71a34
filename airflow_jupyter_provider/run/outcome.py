"""What a run leaves: the executed notebook, read once after papermill ends, and what is made of
it (the failed cell, the HTML, the results for later tasks), as the :class:`RunResult`
(``run_result.py``) the hook returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from logging import Logger
from pathlib import Path
from typing import Any

from airflow_jupyter_provider.locations import is_local
from airflow_jupyter_provider.run.failure import FailedCell
from airflow_jupyter_provider.run.output_files import OutputFiles
from airflow_jupyter_provider.run.render import write_html
from airflow_jupyter_provider.run.results import collect_results
from airflow_jupyter_provider.run.run_result import RunResult


@dataclass(frozen=True)
class ExecutedNotebook:
    """The output notebook as this run left it, loaded once; ``notebook`` is None when this run
    wrote none (``written`` false) or it cannot be read."""

    #: where the output notebook goes, as the task gives it
    location: str
    notebook: Any
    written: bool = True
    #: how the HTML is written
    files: OutputFiles = field(default_factory=OutputFiles)

    @classmethod
    def load(
        cls,
        written_to: str,
        started_at: float,
        log: Logger,
        *,
        shown_as: str | None = None,
        files: OutputFiles | None = None,
    ) -> ExecutedNotebook:
        """The notebook papermill wrote at ``written_to``, the output notebook ``shown_as`` (by
        default the same location: see ``staging.py`` for when it is not). A local notebook
        older than the run is an earlier try's: it would show that try's outcome, so it is not
        read."""
        from papermill.iorw import load_notebook_node

        location, files = shown_as or written_to, files or OutputFiles()
        if is_local(written_to) and not _written_since(Path(written_to), started_at):
            return cls(location, None, written=False, files=files)
        try:
            return cls(location, load_notebook_node(written_to), files=files)
        except Exception as err:  # missing or half written: say so, go on
            log.warning("Could not read the output notebook %s: %s", location, err)
            return cls(location, None, files=files)

    @cached_property
    def failed_cell(self) -> FailedCell | None:
        """Found once: the hook's error message and the run's result both use it."""
        return None if self.notebook is None else FailedCell.find(self.notebook)

    def render(self, html_path: Path, log: Logger) -> str | None:
        """Write the HTML (last: it changes how JSON outputs show); a failure is only a warning."""
        try:
            write_html(self.notebook, self.location, html_path, self.files)
        except Exception as err:
            log.warning("Could not render %s as HTML at %s: %s", self.location, html_path, err)
            return None
        log.info("Executed notebook as HTML: %s", html_path)
        return str(html_path)

    def result(self, html_path: Path | None, *, succeeded: bool, log: Logger) -> RunResult:
        """The run's result: results after a success, the failed cell after a failure, then the HTML
        (whether the notebook failed or not)."""
        results: dict[str, Any] = {}
        problems: list[str] = []
        if succeeded and self.notebook is not None:
            results, problems = collect_results(self.notebook)
        html = None
        if html_path is not None and self.notebook is not None:
            html = self.render(html_path, log)
        elif html_path is not None and not self.written:
            log.info("No HTML at %s: papermill wrote no output notebook in this run", html_path)
        failed_cell = None if succeeded else self.failed_cell
        return RunResult(self.location, html, results, tuple(problems), failed_cell)


def _written_since(path: Path, started_at: float) -> bool:
    """Whether ``path`` is a file written since ``started_at`` (2 s for coarse file system clocks)."""
    try:
        return path.stat().st_mtime >= started_at - 2
    except FileNotFoundError:
        return False

"""What the operator knows of a run, for lineage: gathered without OpenLineage."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from airflow_jupyter_provider.run.papermill_args import Locations

if TYPE_CHECKING:
    from airflow_jupyter_provider.environments import EnvironmentFacts
    from airflow_jupyter_provider.run.failure import FailedCell
    from airflow_jupyter_provider.run.request import NotebookRun
    from airflow_jupyter_provider.run.run_result import RunResult


@dataclass(frozen=True)
class RunReport:
    """The notebooks a run reads and writes, its environment and parameters, and, once it has
    failed, the cell that raised."""

    #: absolute local paths or URLs
    input_nb: str
    output_nb: str
    environment: EnvironmentFacts
    parameters: dict[str, Any]
    failed_cell: FailedCell | None = None

    @classmethod
    def of(cls, run: NotebookRun, environment: EnvironmentFacts) -> RunReport:
        """The report before the run: the environment as the task names it."""
        return cls(Locations.input_of(run), Locations.output_of(run), environment, run.parameters)

    def ended(self, result: RunResult | None) -> RunReport:
        """The report after the run that gave ``result`` (None: the run ended before papermill
        started): the environment as the run used it, and the failed cell, if any."""
        if result is None:
            return self
        return replace(
            self, environment=result.environment or self.environment, failed_cell=result.failed_cell
        )

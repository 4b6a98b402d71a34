"""The :class:`RunResult` the hook returns, or attaches to the exception of a run that failed or
was interrupted. Apart from ``outcome.py``, which makes it, so that the operator's module (imported
by every DAG file that uses it) does not import what reading a notebook takes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_jupyter_provider.environments import EnvironmentFacts
    from airflow_jupyter_provider.run.failure import FailedCell

#: The attribute of an exception that carries the result of the run it ended.
_ATTRIBUTE = "jupyter_conda_run_result"


@dataclass(frozen=True)
class RunResult:
    """What a run produced, for the operator to hand on (XComs)."""

    #: the executed notebook's path or URL
    output_nb: str
    #: the local path of the executed notebook as HTML, if it was rendered
    output_html: str | None = None
    #: what the notebook recorded for later tasks (see ``results.py``); after a success only
    results: dict[str, Any] = field(default_factory=dict)
    #: what was recorded but not taken, or why no results could be read
    result_problems: tuple[str, ...] = ()
    #: the cell that raised, after a failure
    failed_cell: FailedCell | None = None
    #: the environment the run used (for lineage); the hook sets it
    environment: EnvironmentFacts | None = None

    def attach_to(self, error: BaseException) -> BaseException:
        """Let ``error`` carry this result: a failed run's HTML shows its error."""
        setattr(error, _ATTRIBUTE, self)
        return error

    @staticmethod
    def attached_to(error: BaseException) -> RunResult | None:
        """The result ``error`` carries, if the run it ended got as far as starting papermill."""
        return getattr(error, _ATTRIBUTE, None)

"""The verdict on a run that ended: which cause the task's exception names when several hold,
whether Airflow may retry, and what the log shows before the exception. The runs themselves
are in tests/hooks and tests/limits; here each ending is given as the hook records it."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from airflow_jupyter_provider.run.outcome import ExecutedNotebook
from airflow_jupyter_provider.run.papermill_args import Locations
from airflow_jupyter_provider.run.progress import CellProgress
from airflow_jupyter_provider.run.request import NotebookRun
from airflow_jupyter_provider.run.verdict import Failure, RunEnd, failure_of

FAILED_NOTEBOOK = Path(__file__).parent / "papermill_output" / "failed_cell.ipynb"
WHERE = Locations("/dags/report.ipynb", "/out/report.ipynb")
RUN = NotebookRun(input_nb=WHERE.input, output_nb=WHERE.output, conda_env="analytics", base_dir=Path("/dags"))
NO_NOTEBOOK = ExecutedNotebook(WHERE.output, None, written=False)


def verdict(end: RunEnd, executed: ExecutedNotebook = NO_NOTEBOOK) -> Failure | None:
    return failure_of(
        RUN, WHERE, end, CellProgress(None), executed, conda_path="/opt/conda/etc/profile.d/conda.sh"
    )


def test_a_run_that_exited_with_status_0_did_not_fail() -> None:
    assert verdict(RunEnd(started_at=1.0, status=0)) is None


def test_a_stopped_run_is_retried_even_when_its_memory_ran_out_as_it_stopped() -> None:
    failure = verdict(RunEnd(started_at=1.0, status=-15, stopped=True, exceeded_memory=200))

    assert failure is not None
    assert str(failure.error) == "The run of /dags/report.ipynb was stopped before it finished"
    assert failure.error.retryable


def test_out_of_memory_is_not_retried_and_names_max_memory() -> None:
    failure = verdict(RunEnd(started_at=1.0, status=-9, exceeded_memory=200))

    assert failure is not None
    assert "the memory limit of 200 MB (max_memory) was exceeded" in str(failure.error)
    assert "The output notebook is kept at /out/report.ipynb" in str(failure.error)
    assert not failure.error.retryable


def test_the_launchers_own_status_names_the_environment_and_is_not_retried() -> None:
    failure = verdict(RunEnd(started_at=1.0, status=91))

    assert failure is not None
    assert str(failure.error).startswith("conda could not activate the environment 'analytics'")
    assert not failure.error.retryable


@pytest.mark.parametrize(("status", "named"), [(-9, "SIGKILL"), (-40, "40")])
def test_a_signal_without_a_failed_cell_is_named_by_its_name_or_its_number(status: int, named: str) -> None:
    failure = verdict(RunEnd(started_at=1.0, status=status))

    assert failure is not None
    assert str(failure.error) == (
        f"Notebook /dags/report.ipynb failed: papermill was killed by signal {named}. "
        "The output notebook is kept at /out/report.ipynb"
    )
    assert failure.error.retryable
    assert failure.report == ()


def test_a_failed_cell_is_summed_up_in_the_exception_and_reported_in_full_in_the_log() -> None:
    executed = ExecutedNotebook(WHERE.output, nbformat.read(FAILED_NOTEBOOK, as_version=4))

    failure = verdict(RunEnd(started_at=1.0, status=1), executed)

    assert failure is not None
    assert str(failure.error) == (
        "Notebook /dags/report.ipynb failed: cell [5] raised ValueError: no data for 5. "
        "The output notebook is kept at /out/report.ipynb"
    )
    assert failure.report[:3] == (
        "cell 5/6 failed: ValueError: no data for 5",
        "Source of the cell:",
        "    import sys",
    )
    assert failure.error.retryable

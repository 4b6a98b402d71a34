"""Whether a run that ended failed, why, and whether a retry may help.

One verdict from everything the run left: how its process ended, the cgroup's OOM counter, the
launcher's exit status, the kernel check, the output of papermill and the executed notebook.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass

from airflow_jupyter_provider.environments import Activation
from airflow_jupyter_provider.exceptions import RunFailed
from airflow_jupyter_provider.run import launcher
from airflow_jupyter_provider.run.outcome import ExecutedNotebook
from airflow_jupyter_provider.run.papermill_args import Locations
from airflow_jupyter_provider.run.progress import CellProgress
from airflow_jupyter_provider.run.request import NotebookRun


@dataclass
class RunEnd:
    """How the run's process ended, filled in by the hook as the run goes."""

    started_at: float | None = None
    status: int | None = None
    stopped: bool = False
    exceeded_memory: int | None = None
    #: why no kernel could stand in for the notebook's missing one (kernel_check.py)
    kernel_problem: str | None = None
    #: the environment as the run's shell activated it
    activation: Activation | None = None


@dataclass(frozen=True)
class Failure:
    """Why the run failed: the task's exception, and the lines the log shows before it (the
    failed cell's source and traceback, or the exception papermill ended with)."""

    error: RunFailed
    report: tuple[str, ...] = ()


def failure_of(
    run: NotebookRun,
    where: Locations,
    end: RunEnd,
    progress: CellProgress,
    executed: ExecutedNotebook,
    *,
    conda_path: str,
) -> Failure | None:
    """Why the run failed, or None if it did not. The checks go from the cause outside the
    notebook (stopped, out of memory, no environment, no kernel) to the notebook itself."""
    if end.stopped:
        return Failure(RunFailed(f"The run of {where.input} was stopped before it finished", retryable=True))
    if end.exceeded_memory is not None:
        return Failure(
            RunFailed(
                f"Notebook {where.input} ran out of memory: the memory limit of {end.exceeded_memory} MB "
                "(max_memory) was exceeded and the kernel's OOM killer ended a process of the run. It "
                "is not retried, as a retry would exceed it again: raise max_memory or make the "
                f"notebook use less. The output notebook is kept at {where.output}"
            )
        )
    assert end.status is not None
    if message := launcher.environment_failure(end.status, conda_path=conda_path, conda_env=run.conda_env):
        return Failure(RunFailed(message))
    if end.kernel_problem is not None:
        return Failure(RunFailed(end.kernel_problem))
    if end.status != 0:
        what, report = _explanation(end.status, run.execution_timeout, progress, executed)
        error = RunFailed(
            f"Notebook {where.input} failed: {what.removesuffix('.')}. The output notebook is kept at "
            f"{where.output}",
            retryable=True,
        )
        return Failure(error, report)
    return None


def _explanation(
    status: int, execution_timeout: int | None, progress: CellProgress, executed: ExecutedNotebook
) -> tuple[str, tuple[str, ...]]:
    """What made the notebook fail, in a few words for the task's exception and in full for the log.

    The output notebook tells best: the failed cell's source, exception and traceback. Without
    a failed cell in it, a signal that killed papermill does (an OOM kill was ruled out
    before), else the exception papermill ended with (the kernel died, papermill could not
    start it).
    """
    if failed := executed.failed_cell:
        return failed.summary(execution_timeout), tuple(failed.report())
    if status < 0:
        return f"papermill was killed by signal {_signal_name(-status)}", ()
    if error := progress.papermill_error:
        return f"papermill exited with status {status}: {error[0]}", tuple(error)
    return f"papermill exited with status {status} (see the log above)", ()


def _signal_name(number: int) -> str:
    """``SIGKILL`` for 9; the number itself for a signal Python has no name for (real-time ones)."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)

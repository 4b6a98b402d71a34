"""An OOM kill and other kills of a run with max_memory, on this machine's real cgroup v1 memory
controller: only a kill the group's OOM counter (``memory.oom_control`` ``oom_kill``) counted
during the run is reported as max_memory exceeded; a ``kill -9`` from outside names what died.

The runs need root (these machines run tests as root): they create cgroups.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from structlog.testing import capture_logs

from airflow_jupyter_provider.compat import AirflowException, AirflowFailException
from airflow_jupyter_provider.hooks.jupyter_conda import JupyterCondaHook
from airflow_jupyter_provider.limits.group import Created, Enforcement, Reading, RunGroup
from airflow_jupyter_provider.limits.values import requested_limits
from tests.helpers import (
    CondaInstall,
    HookRun,
    ProcessMarker,
    messages,
    run_notebook,
    wait_for,
    write_notebook,
    written,
)
from tests.limits.fake_v2 import memory_events

(MAX_MEMORY,) = MEMORY = requested_limits(cpu_quota=None, max_memory=256)


def killed_run(
    conda_install: CondaInstall, tmp_path: Path, victim: Callable[[psutil.Process], psutil.Process]
) -> BaseException | None:
    """Run a notebook with max_memory whose kernel sleeps; ``kill -9`` the ``victim`` of its kernel
    (the kernel itself, or its parent papermill) from outside; the run's error."""
    pid_file = tmp_path / "kernel.pid"
    notebook = write_notebook(
        tmp_path / "sleeps.ipynb",
        "pid_file = ''",
        "import os, pathlib, time\npathlib.Path(pid_file).write_text(str(os.getpid()))\ntime.sleep(300)",
    )
    with capture_logs() as logs:
        run = HookRun(
            JupyterCondaHook(),
            input_nb=str(notebook),
            output_nb=str(tmp_path / "out.ipynb"),
            conda_env=conda_install.env_name,
            parameters={"pid_file": str(pid_file)},
            limits=MEMORY,
        )
        run.start()
        try:
            assert wait_for(written(pid_file), timeout=90), messages(logs)
            kernel = psutil.Process(int(pid_file.read_text()))
            assert any("is enforced by cgroup v1" in line for line in messages(logs)), messages(logs)
            os.kill(victim(kernel).pid, signal.SIGKILL)
        finally:
            run.join(timeout=90)
    assert not run.is_alive()
    return run.error


@pytest.mark.requires_root
def test_a_kernel_killed_by_kill_9_is_a_dead_kernel_not_max_memory_and_may_be_retried(
    conda_connection: CondaInstall, process_marker: ProcessMarker, tmp_path: Path
) -> None:
    error = killed_run(conda_connection, tmp_path, lambda kernel: kernel)

    assert isinstance(error, AirflowException) and not isinstance(error, AirflowFailException), error
    assert re.search(
        r"failed: papermill exited with status \d+: nbclient.exceptions.DeadKernelError: Kernel died\.",
        str(error),
    )
    assert "max_memory" not in str(error) and "out of memory" not in str(error)
    assert process_marker.survivors() == {}


@pytest.mark.requires_root
def test_papermill_killed_by_kill_9_names_the_signal_and_no_process_of_the_run_survives(
    conda_connection: CondaInstall, process_marker: ProcessMarker, tmp_path: Path
) -> None:
    error = killed_run(conda_connection, tmp_path, lambda kernel: kernel.parent())

    assert isinstance(error, AirflowException) and not isinstance(error, AirflowFailException), error
    assert "failed: papermill was killed by signal SIGKILL. The output notebook is kept at" in str(error)
    assert "max_memory" not in str(error)
    # The kernel outlived papermill: ended by its own parent poller or stopped with the run's group.
    assert process_marker.survivors() == {}


@pytest.mark.requires_root
def test_a_notebook_past_max_memory_is_oom_killed_and_fails_without_retry(
    conda_connection: CondaInstall, tmp_path: Path
) -> None:
    notebook = write_notebook(
        tmp_path / "grows.ipynb",
        "megabytes = 0",
        "print('allocating', megabytes, 'MB')",
        "block = b'x' * (megabytes * 2**20)",
    )

    with pytest.raises(AirflowFailException) as caught:
        run_notebook(
            JupyterCondaHook(),
            input_nb=str(notebook),
            output_nb=str(tmp_path / "out.ipynb"),
            conda_env=conda_connection.env_name,
            parameters={"megabytes": 400},
            limits=MEMORY,
        )

    assert "ran out of memory: the memory limit of 256 MB (max_memory) was exceeded" in str(caught.value)


def test_only_oom_kills_counted_after_the_group_was_made_are_the_runs(tmp_path: Path) -> None:
    events = tmp_path / "memory.events"
    events.write_text(memory_events(oom_kill=2))  # as the group showed it when it was made
    group = RunGroup()
    group.add(
        Created(
            enforced={MAX_MEMORY: Enforcement("cgroup v2", events.with_name("memory.max"), "1")},
            readings={"oom_kills": Reading(events, "oom_kill")},
        )
    )

    assert group.exceeded_memory_limit() is None
    events.write_text(memory_events(oom_kill=3))
    assert group.exceeded_memory_limit() == MAX_MEMORY

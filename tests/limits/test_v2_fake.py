"""The cgroup v2 path, on a fake v2 tree (``fake_v2.py``): real notebook runs of the hook in the
fake conda environment, whose shell joins the fake group's ``cgroup.procs``; the test plays the
kernel's counters and its OOM killer. This machine's own cgroups are v1: these runs prove that v2
is tried first and used where it can enforce the limits, and v1 is not taken.
"""

from __future__ import annotations

import logging
import os
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
from structlog.testing import capture_logs

from airflow_jupyter_provider.compat import AirflowException, AirflowFailException
from airflow_jupyter_provider.config import CgroupSettings
from airflow_jupyter_provider.hooks.jupyter_conda import JupyterCondaHook
from airflow_jupyter_provider.limits.enforce import enforce_limits
from airflow_jupyter_provider.limits.values import MB, requested_limits
from tests.helpers import CondaInstall, HookRun, messages, run_notebook, wait_for, write_notebook, written
from tests.limits.conftest import RUNS_PARENT, point_worker_at
from tests.limits.fake_v2 import FakeCgroup2, memory_events

CPU_AND_MEMORY = requested_limits(cpu_quota=50, max_memory=256)
MEMORY = requested_limits(cpu_quota=None, max_memory=256)


def enforced_by(lines: list[str]) -> dict[str, Path]:
    """limit -> the interface file the task log says enforces it."""
    found = {}
    for line in lines:
        if match := re.match(r"(.+?) is enforced by cgroup v[12] \((/\S+) = ", line):
            found[match[1]] = Path(match[2])
    return found


class WaitingRun:
    """A hook run whose kernel writes its pid to a file, then waits for a release file."""

    def __init__(self, conda_install: CondaInstall, tmp_path: Path, limits) -> None:
        self.pid_file, self.release = tmp_path / "kernel.pid", tmp_path / "release"
        notebook = write_notebook(
            tmp_path / "waits.ipynb",
            "pid_file = release = ''",
            "import os, pathlib, time\n"
            "pathlib.Path(pid_file).write_text(str(os.getpid()))\n"
            "while not os.path.exists(release):\n"
            "    time.sleep(0.05)\n"
            "print('released')",
        )
        self.output = tmp_path / "out.ipynb"
        self.thread = HookRun(
            JupyterCondaHook(),
            input_nb=str(notebook),
            output_nb=str(self.output),
            conda_env=conda_install.env_name,
            parameters={"pid_file": str(self.pid_file), "release": str(self.release)},
            limits=limits,
        )


@contextmanager
def running(run: WaitingRun, logs: list) -> Iterator[int]:
    """Start ``run``; the kernel's pid once it waits. The run is released and joined at the end."""
    run.thread.start()
    try:
        assert wait_for(written(run.pid_file), timeout=90), messages(logs)
        yield int(run.pid_file.read_text())
    finally:
        run.release.touch()
        run.thread.join(timeout=90)
    assert not run.thread.is_alive()


def test_a_v2_run_writes_its_limits_joins_its_group_and_logs_what_it_used(
    conda_connection: CondaInstall, fake_v2: FakeCgroup2, tmp_path: Path
) -> None:
    run = WaitingRun(conda_connection, tmp_path, CPU_AND_MEMORY)
    with capture_logs() as logs, running(run, logs) as kernel:
        lines = messages(logs)
        files = enforced_by(lines)
        group = files["max_memory=256 MB"].parent
        # One group for both limits, under the prepared parent, named after the task process.
        assert files == {
            "cpu_quota=50% of one core": group / "cpu.max",
            "max_memory=256 MB": group / "memory.max",
        }
        assert group.parent == fake_v2.root / RUNS_PARENT.lstrip("/")
        assert re.fullmatch(rf"jupyter-conda-{os.getpid()}-[0-9a-f]{{8}}", group.name)
        # v2 was tried first and enforced both: v1 was never asked.
        assert f"cpu_quota=50% of one core is enforced by cgroup v2 ({group}/cpu.max = 50000 100000)" in lines
        assert f"max_memory=256 MB is enforced by cgroup v2 ({group}/memory.max = {256 * MB})" in lines
        assert not any("cgroup v1" in line for line in lines)
        # What the kernel would have been told: 50 ms of each 100 ms, 256 MB and no swap.
        assert (group / "cpu.max").read_text() == "50000 100000"
        assert (group / "memory.max").read_text() == str(256 * MB)
        assert (group / "memory.swap.max").read_text() == "0"
        # The run's shell joined the group, then became papermill: the kernel's parent.
        papermill = psutil.Process(kernel).ppid()
        assert (group / "cgroup.procs").read_text().split() == [str(papermill)]
        assert "papermill" in " ".join(psutil.Process(papermill).cmdline())
        # No controller is enabled anywhere by the run: the admin's parent is left as it was.
        assert (group / "cgroup.subtree_control").read_text() == ""
        assert (group.parent / "cgroup.subtree_control").read_text() == "cpu memory"
        # The kernel's counters for the run, as the run ends.
        (group / "cpu.stat").write_text("usage_usec 4900000\nuser_usec 4000000\nsystem_usec 900000\n")
        (group / "memory.peak").write_text(f"{130 * MB}\n")

    assert run.thread.error is None, run.thread.error
    assert "released" in messages(logs)
    assert "The run used 4.9 s of CPU time, at most 130 MB of memory" in messages(logs)
    assert not group.exists()


def test_an_oom_kill_counted_in_memory_events_fails_the_task_for_max_memory_without_retry(
    conda_connection: CondaInstall, fake_v2: FakeCgroup2, tmp_path: Path
) -> None:
    run = WaitingRun(conda_connection, tmp_path, MEMORY)
    with capture_logs() as logs, running(run, logs) as kernel:
        group = enforced_by(messages(logs))["max_memory=256 MB"].parent
        # The OOM killer: it counts the kill in the group's memory.events, then kills.
        (group / "memory.events").write_text(memory_events(oom_kill=1))
        os.kill(kernel, signal.SIGKILL)

    error = run.thread.error
    assert isinstance(error, AirflowFailException), error
    assert "ran out of memory: the memory limit of 256 MB (max_memory) was exceeded" in str(error)
    assert f"The output notebook is kept at {run.output}" in str(error)
    assert not group.exists()


def test_a_kernel_killed_by_sigkill_without_an_oom_kill_is_not_reported_as_max_memory(
    conda_connection: CondaInstall, fake_v2: FakeCgroup2, tmp_path: Path
) -> None:
    run = WaitingRun(conda_connection, tmp_path, MEMORY)
    with capture_logs() as logs, running(run, logs) as kernel:
        group = enforced_by(messages(logs))["max_memory=256 MB"].parent
        os.kill(kernel, signal.SIGKILL)  # someone's kill -9: memory.events counts nothing

    error = run.thread.error
    assert isinstance(error, AirflowException) and not isinstance(error, AirflowFailException), error
    assert "DeadKernelError: Kernel died" in str(error)
    assert "max_memory" not in str(error) and "out of memory" not in str(error)
    assert not group.exists()


def test_memory_swap_max_is_skipped_where_the_kernel_has_no_swap_accounting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeCgroup2(tmp_path / "cgroup", swap=False).build()
    fake.group(RUNS_PARENT, subtree_control="memory")
    fake.install(monkeypatch)
    log = logging.getLogger("test.v2")

    group = enforce_limits(MEMORY, CgroupSettings(fake.root, RUNS_PARENT, "fail"), log)
    try:
        (directory,) = group.directories
        assert (directory / "memory.max").read_text() == str(256 * MB)
        assert not (directory / "memory.swap.max").exists()
    finally:
        group.close(log)
    assert not directory.exists()


# --- controllers the worker cannot use -----------------------------------------------------------


def missing_in_controllers(fake: FakeCgroup2) -> tuple[str, str]:
    """The root passes only cpu on: the parent's cgroup.controllers lacks memory."""
    fake.build(subtree_control="cpu")
    parent = fake.group(RUNS_PARENT, subtree_control="cpu")
    return (
        RUNS_PARENT,
        f"the memory controller is not available in {parent} (its cgroup.controllers lists cpu)",
    )


def not_enabled_in_subtree_control(fake: FakeCgroup2) -> tuple[str, str]:
    """The admin made the group but enabled only cpu for its children."""
    fake.build()
    parent = fake.group(RUNS_PARENT, subtree_control="cpu")
    return RUNS_PARENT, f"the memory controller is not enabled in {parent}/cgroup.subtree_control"


def parent_holding_processes(fake: FakeCgroup2) -> tuple[str, str]:
    """The worker's own service group as the parent: it holds the worker, so it cannot pass controllers."""
    fake.build()
    parent = fake.group("/airflow-worker.service", procs=[os.getpid()])
    return "/airflow-worker.service", (
        f"the memory controller is not enabled in {parent}/cgroup.subtree_control (and cannot be while "
        "processes live in that group, the worker among them: point [jupyter_conda] cgroup_parent at a "
        "group prepared for notebook runs)"
    )


def parent_not_made(fake: FakeCgroup2) -> tuple[str, str]:
    """cgroup_parent names a group nobody made."""
    fake.build()
    return RUNS_PARENT, f"the parent group {fake.root}{RUNS_PARENT} does not exist"


SETUPS = [parent_not_made, missing_in_controllers, not_enabled_in_subtree_control, parent_holding_processes]


@pytest.mark.parametrize("setup", SETUPS, ids=lambda setup: setup.__name__)
def test_a_controller_the_parent_does_not_pass_on_fails_the_task_naming_why_and_the_fix(
    setup, conda_connection: CondaInstall, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeCgroup2(tmp_path / "cgroup")
    parent, reason = setup(fake)
    fake.install(monkeypatch)
    point_worker_at(monkeypatch, fake.root, parent)
    notebook = write_notebook(tmp_path / "nb.ipynb", "x = 0", "print('ran')")

    with pytest.raises(AirflowFailException) as caught:
        run_notebook(
            JupyterCondaHook(),
            input_nb=str(notebook),
            output_nb=str(tmp_path / "out.ipynb"),
            conda_env=conda_connection.env_name,
            limits=MEMORY,
        )

    assert str(caught.value).startswith(
        f"max_memory=256 MB cannot be enforced on this worker: cgroup v2: {reason}; "
        f"cgroup v1: no cgroup v1 memory hierarchy at {fake.root}/memory. To enforce it, "
    )
    assert "set [jupyter_conda] unenforceable_limits = warn" in str(caught.value)
    assert not (tmp_path / "out.ipynb").exists()  # refused before anything ran
    assert not list(fake.root.glob("**/jupyter-conda-*"))


def test_with_unenforceable_limits_warn_the_notebook_runs_without_the_limit_and_the_log_says_why(
    conda_connection: CondaInstall, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeCgroup2(tmp_path / "cgroup")
    parent, reason = not_enabled_in_subtree_control(fake)
    fake.install(monkeypatch)
    point_worker_at(monkeypatch, fake.root, parent, policy="warn")
    notebook = write_notebook(tmp_path / "nb.ipynb", "x = 0", "print('ran')")

    with capture_logs() as logs:
        run_notebook(
            JupyterCondaHook(),
            input_nb=str(notebook),
            output_nb=str(tmp_path / "out.ipynb"),
            conda_env=conda_connection.env_name,
            limits=CPU_AND_MEMORY,
        )

    lines = messages(logs)
    cpu = next(
        line for line in lines if line.startswith("cpu_quota=50% of one core is enforced by cgroup v2")
    )
    assert (
        f"max_memory=256 MB cannot be enforced on this worker: cgroup v2: {reason}; cgroup v1: no cgroup v1 "
        f"memory hierarchy at {fake.root}/memory. The notebook runs without it "
        "([jupyter_conda] unenforceable_limits = warn)"
    ) in lines
    assert "ran" in lines
    assert not Path(re.search(r"\((/\S+) = ", cpu)[1]).parent.exists()

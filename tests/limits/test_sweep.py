"""Stale run groups, those whose task process is gone, are swept when the next run starts: on
this machine's real cgroup v1 mounts (processes in them stopped, groups removed, the task log
saying so) and on a fake cgroup v2 tree in a temporary folder, pointed at through the
``[jupyter_conda]`` options as a worker's admin would; a group whose task process lives, or
whose pid now belongs to a process that started after the group was made, is told apart.

The tests marked requires_root need root: they make real cgroups, or choose the next pid.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from airflow_jupyter_provider.config import CgroupSettings
from airflow_jupyter_provider.exceptions import SettingError
from airflow_jupyter_provider.limits.enforce import enforce_limits, enforced
from airflow_jupyter_provider.limits.values import requested_limits
from tests.helpers import wait_for

MOUNT = Path("/sys/fs/cgroup")
V1_HIERARCHIES = ("cpu", "cpuacct", "memory")
CPU_AND_MEMORY = requested_limits(cpu_quota=50, max_memory=256)


@pytest.fixture
def log() -> logging.Logger:
    return logging.getLogger("test.sweep")


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]


def swept(group: Path, task_pid: int) -> str:
    """The task log's line for a swept group."""
    return f"Removing the cgroup {group} of an earlier run: task process {task_pid}, which made it, is gone"


def gone_pid() -> int:
    """The pid of a process that ran and is gone."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def a_run_starts(log: logging.Logger, caplog: pytest.LogCaptureFixture) -> None:
    """What the hook does first for a run without limits, with the worker's settings."""
    with caplog.at_level(logging.INFO), enforced((), CgroupSettings.load, log) as group:
        assert group.directories == []


# --- the real cgroup v1 mounts ------------------------------------------------------------------


@pytest.fixture
def runs_parent(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A group for runs in every v1 hierarchy, set as cgroup_parent: the sweep sees this test's only."""
    name = f"/jupyter-conda-sweep-{uuid.uuid4().hex[:8]}"
    folders = [MOUNT / hierarchy / name.lstrip("/") for hierarchy in V1_HIERARCHIES]
    for folder in folders:
        folder.mkdir()
    monkeypatch.setenv("AIRFLOW__JUPYTER_CONDA__CGROUP_PARENT", name)
    yield name
    for folder in folders:
        folder.rmdir()


def daemon() -> int:
    """A process started the way a notebook daemonizes one: no parent of the test's, a session of its own."""
    started = subprocess.run(
        ["setsid", "sh", "-c", "sleep 300 </dev/null >/dev/null 2>&1 & echo $!"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(started.stdout)


@pytest.mark.requires_root
def test_a_run_stops_and_removes_the_groups_of_a_task_process_that_is_gone(runs_parent, log, caplog):
    task_pid = gone_pid()
    stale = [
        MOUNT / h / runs_parent.lstrip("/") / f"jupyter-conda-{task_pid}-0123abcd" for h in V1_HIERARCHIES
    ]
    left_behind = daemon()
    for group in stale:
        group.mkdir()
        (group / "cgroup.procs").write_text(str(left_behind))
    live = enforce_limits(CPU_AND_MEMORY, CgroupSettings.load(), log)  # this (live) process's run
    try:
        a_run_starts(log, caplog)

        lines = warnings(caplog)
        assert [swept(group, task_pid) for group in stale] == [line for line in lines if "Removing" in line]
        assert f"still ran when the run ended; stopping them: {left_behind}" in caplog.text
        assert wait_for(lambda: not psutil.pid_exists(left_behind), timeout=10)
        assert not any(group.exists() for group in stale)
        assert live.directories and all(group.exists() for group in live.directories)
    finally:  # leave nothing behind, whatever the sweep did
        live.close(log)
        with contextlib.suppress(ProcessLookupError):
            os.kill(left_behind, signal.SIGKILL)
        wait_for(lambda: not psutil.pid_exists(left_behind), timeout=10)
        for group in stale:
            with contextlib.suppress(FileNotFoundError):
                group.rmdir()


# --- a fake cgroup v2 tree ------------------------------------------------------------------------


def fake_v2_tree(hierarchy: Path, parent: str) -> Path:
    """A cgroup v2 hierarchy at ``hierarchy`` as plain folders and files, with the group ``parent``
    that runs go under; returns that group's folder.

    Run groups made in it are empty folders: a plain folder must be empty to be removed, while
    the kernel removes a real group with its interface files. That stale groups are emptied is
    shown on the real mounts above.
    """
    runs = hierarchy / parent.lstrip("/")
    for directory in (hierarchy, runs):
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "cgroup.controllers").write_text("cpu memory\n")
        (directory / "cgroup.subtree_control").write_text("cpu memory\n")
        (directory / "cgroup.procs").write_text("")
    return runs


@pytest.fixture
def v2_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Path:
    """The runs' parent group in a fake v2 tree, at the mount or in its ``unified/`` (systemd's
    hybrid layout), set as the worker's cgroup_mount and cgroup_parent."""
    mount = tmp_path / "cgroup"
    monkeypatch.setenv("AIRFLOW__JUPYTER_CONDA__CGROUP_MOUNT", str(mount))
    monkeypatch.setenv("AIRFLOW__JUPYTER_CONDA__CGROUP_PARENT", "/notebook-runs")
    return fake_v2_tree(mount / request.param, "/notebook-runs")


@pytest.mark.parametrize("v2_runs", ["", "unified"], indirect=True)
def test_on_a_v2_tree_only_the_groups_of_gone_task_processes_are_removed(v2_runs, log, caplog):
    task_pid = gone_pid()
    stale = v2_runs / f"jupyter-conda-{task_pid}-0123abcd"
    live = v2_runs / f"jupyter-conda-{os.getpid()}-4567cdef"  # made after this process started
    not_a_run_group = v2_runs / "jupyter-conda-notes"
    for directory in (stale, live, not_a_run_group):
        directory.mkdir()

    a_run_starts(log, caplog)

    assert warnings(caplog) == [swept(stale, task_pid)]
    assert sorted(path for path in v2_runs.iterdir() if path.is_dir()) == sorted([live, not_a_run_group])


def process_with_pid(pid: int) -> subprocess.Popen | None:
    """A process given ``pid``, through the kernel's last-pid counter (root only), or None if
    another process took that pid first."""
    Path("/proc/sys/kernel/ns_last_pid").write_text(str(pid - 1))
    process = subprocess.Popen(["sleep", "300"])
    if process.pid == pid:
        return process
    process.kill()
    process.wait()
    return None


@pytest.mark.requires_root
@pytest.mark.parametrize("v2_runs", [""], indirect=True)
def test_a_group_whose_pid_now_belongs_to_a_younger_process_is_swept_and_that_process_left_alone(
    v2_runs, log, caplog
):
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    for _ in range(10):
        pid = random.randrange(1000, pid_max)
        if psutil.pid_exists(pid):
            continue
        group = v2_runs / f"jupyter-conda-{pid}-0123abcd"
        group.mkdir()
        # psutil gives start times in whole seconds from the boot: start the process clearly later.
        made = group.stat().st_ctime
        assert wait_for(lambda made=made: time.time() > made + 1.5, timeout=5)
        if younger := process_with_pid(pid):
            break
        group.rmdir()
    else:
        pytest.fail("another process took each pid chosen for the test")
    try:
        a_run_starts(log, caplog)

        assert warnings(caplog) == [swept(group, pid)]
        assert not group.exists()
        assert younger.poll() is None
    finally:
        younger.kill()
        younger.wait()


def test_a_run_without_limits_does_not_fail_for_cgroup_settings_it_cannot_use(monkeypatch, log, caplog):
    monkeypatch.setenv("AIRFLOW__JUPYTER_CONDA__CGROUP_PARENT", "notebook-runs")  # not a cgroup path

    a_run_starts(log, caplog)

    unusable = pytest.raises(SettingError, match=r"cgroup_parent = 'notebook-runs' must be a cgroup path")
    with unusable, enforced(CPU_AND_MEMORY, CgroupSettings.load, log):
        pass

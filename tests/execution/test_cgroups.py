"""Run groups on this machine's real cgroup file systems: created where the kernel lets the
worker create them, set to the limits, holding every process of the run until they are
removed; and the message a worker without cgroup access gets.

Needs root (these machines run tests as root): cgroups are created and removed for real.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from airflow_jupyter_provider.execution.cgroups import (
    CgroupSettings,
    LimitsUnavailable,
    SettingError,
    enforce_limits,
)
from airflow_jupyter_provider.execution.limits import requested_limits

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creates cgroups: run as root")

MOUNT = Path("/sys/fs/cgroup")
CPU_AND_MEMORY = requested_limits(cpu_quota=50, max_memory=256)


def settings(mount: Path = MOUNT, parent: str = "", policy: str = "fail") -> CgroupSettings:
    return CgroupSettings(mount=mount, parent=parent, unenforceable_limits=policy)


@pytest.fixture
def log() -> logging.Logger:
    return logging.getLogger("test.cgroups")


def enforced_at(caplog: pytest.LogCaptureFixture) -> dict[str, Path]:
    """limit -> the interface file the task log says enforces it."""
    found = {}
    for record in caplog.records:
        match = re.match(r"(.+?) is enforced by cgroup v[12] \((/\S+) = ", record.getMessage())
        if match:
            found[match[1]] = Path(match[2])
    return found


def test_each_limit_is_enforced_by_a_group_of_its_own_and_the_log_says_where(log, caplog):
    with caplog.at_level(logging.INFO):
        group = enforce_limits(CPU_AND_MEMORY, settings(), log)
    try:
        files = enforced_at(caplog)
        assert set(files) == {"cpu_quota=50% of one core", "max_memory=256 MB"}
        # 50% of one core: 50 ms of every 100 ms period; 256 MB of 2**20 bytes.
        quota = files["cpu_quota=50% of one core"]
        assert (quota.read_text().strip(), (quota.parent / "cpu.cfs_period_us").read_text().strip()) == (
            "50000",
            "100000",
        )
        assert files["max_memory=256 MB"].read_text().strip() == str(256 * 2**20)
        assert files["max_memory=256 MB"].name == "memory.limit_in_bytes"
        # The group sits in this process's own cgroup of each hierarchy.
        own = dict(line.split(":", 2)[1:] for line in Path("/proc/self/cgroup").read_text().splitlines())
        assert files["max_memory=256 MB"].parent.parent == MOUNT / "memory" / own["memory"].lstrip("/")
        # cgroup v2 was asked first; the log says why it could not.
        lines = [record.getMessage() for record in caplog.records]
        assert any("; not by cgroup v2: the cpu controller is not available in" in line for line in lines)
    finally:
        group.close(log)
    assert not any(path.parent.exists() for path in files.values())


def test_processes_left_in_the_groups_are_stopped_before_the_groups_are_removed(log, caplog):
    group = enforce_limits(CPU_AND_MEMORY, settings(), log)
    # A process that joined every group of the run and then left its parent: a daemon the
    # notebook started, say.
    sleeper = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        for directory in group.directories:
            (directory / "cgroup.procs").write_text(str(sleeper.pid))
        assert group.pids() == {sleeper.pid}

        with caplog.at_level(logging.WARNING):
            group.close(log)

        assert not psutil.pid_exists(sleeper.pid)
    finally:
        sleeper.kill()
    assert f"still ran when the run ended; stopping them: {sleeper.pid}" in caplog.text
    assert not any(directory.exists() for directory in group.directories)


@pytest.fixture
def prepared_parent() -> Iterator[str]:
    """A group an admin prepared for notebook runs, in every hierarchy a run uses."""
    name = f"/jupyter-conda-tests-{uuid.uuid4().hex[:8]}"
    folders = [MOUNT / hierarchy / name.lstrip("/") for hierarchy in ("cpu", "cpuacct", "memory")]
    for folder in folders:
        folder.mkdir()
    yield name
    for folder in folders:
        folder.rmdir()


def test_cgroup_parent_puts_run_groups_under_the_group_it_names(prepared_parent, log, caplog):
    with caplog.at_level(logging.INFO):
        group = enforce_limits(CPU_AND_MEMORY, settings(parent=prepared_parent), log)
    try:
        parents = {directory.parent for directory in group.directories}
        assert parents == {
            MOUNT / hierarchy / prepared_parent.lstrip("/") for hierarchy in ("cpu", "cpuacct", "memory")
        }
    finally:
        group.close(log)


def test_a_worker_that_cannot_use_cgroups_fails_saying_why_and_how_to_grant_access(tmp_path, log):
    no_cgroups = tmp_path / "no-cgroups"
    no_cgroups.mkdir(mode=0o555)

    with pytest.raises(LimitsUnavailable) as caught:
        enforce_limits(CPU_AND_MEMORY, settings(mount=no_cgroups), log)

    message = str(caught.value)
    assert (
        f"cpu_quota=50% of one core cannot be enforced on this worker: cgroup v2: no cgroup2 file system at "
        f"{no_cgroups} or {no_cgroups}/unified; cgroup v1: no cgroup v1 cpu hierarchy at {no_cgroups}/cpu"
    ) in message
    assert "max_memory=256 MB cannot be enforced on this worker" in message
    assert f"no cgroup v1 memory hierarchy at {no_cgroups}/memory" in message
    assert "run the worker as root (or in a cgroup delegated to its user)" in message
    assert "[jupyter_conda] unenforceable_limits = warn" in message
    assert list(no_cgroups.iterdir()) == []


def test_warn_policy_runs_without_the_limit_and_the_log_says_so(tmp_path, log, caplog):
    with caplog.at_level(logging.WARNING):
        group = enforce_limits(CPU_AND_MEMORY, settings(mount=tmp_path, policy="warn"), log)

    assert group.directories == [] and group.join_args() == []
    (warning,) = [record.getMessage() for record in caplog.records]
    assert warning.startswith("cpu_quota=50% of one core cannot be enforced on this worker: cgroup v2:")
    assert "max_memory=256 MB cannot be enforced on this worker" in warning
    assert warning.endswith("The notebook runs without it ([jupyter_conda] unenforceable_limits = warn)")


# --- the settings, from Airflow's configuration ------------------------------------------------


def test_settings_default_to_the_system_mount_the_workers_own_group_and_failing():
    assert CgroupSettings.from_airflow_config() == settings()


def test_the_options_and_their_defaults_are_declared_to_airflow():
    """Airflow knows them from the provider's info, as `airflow config get-value` shows them."""

    def value(option: str) -> str:
        command = [sys.executable, "-m", "airflow", "config", "get-value", "jupyter_conda", option]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()

    declared = {option: value(option) for option in ("cgroup_mount", "cgroup_parent", "unenforceable_limits")}
    assert declared == {"cgroup_mount": "/sys/fs/cgroup", "cgroup_parent": "", "unenforceable_limits": "fail"}


def test_settings_come_from_the_jupyter_conda_section(monkeypatch):
    monkeypatch.setenv("AIRFLOW__JUPYTER_CONDA__CGROUP_MOUNT", "/run/cgroups")
    monkeypatch.setenv("AIRFLOW__JUPYTER_CONDA__CGROUP_PARENT", "/jupyter-conda")
    monkeypatch.setenv("AIRFLOW__JUPYTER_CONDA__UNENFORCEABLE_LIMITS", "Warn")
    assert CgroupSettings.from_airflow_config() == settings(Path("/run/cgroups"), "/jupyter-conda", "warn")


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        (
            "UNENFORCEABLE_LIMITS",
            "ignore",
            r"\[jupyter_conda\] unenforceable_limits = 'ignore' is not one of fail, warn",
        ),
        (
            "CGROUP_PARENT",
            "jupyter",
            r"\[jupyter_conda\] cgroup_parent = 'jupyter' must be a cgroup path starting",
        ),
    ],
)
def test_unusable_settings_are_named(monkeypatch, option, value, message):
    monkeypatch.setenv(f"AIRFLOW__JUPYTER_CONDA__{option}", value)
    with pytest.raises(SettingError, match=message):
        CgroupSettings.from_airflow_config()

"""``python -m airflow_jupyter_provider.limits.check``, the README's one command that checks a
worker: on this machine's real cgroup v1 (as a command), and on the fake v2 tree (in this
process, where the fake kernel's mkdir and rmdir apply), where its test process joins the fake
``cgroup.procs`` file.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from airflow_jupyter_provider.limits import check
from airflow_jupyter_provider.limits.values import MB
from tests.limits.conftest import RUNS_PARENT, point_worker_at
from tests.limits.fake_v2 import FakeCgroup2

COMMAND = [
    sys.executable,
    "-m",
    "airflow_jupyter_provider.limits.check",
    "--cpu-quota",
    "50",
    "--max-memory",
    "256",
]


def joined(report: str) -> tuple[int, list[Path]]:
    """The test process's pid and the groups the report says it joined."""
    match = re.search(r"^A test process \(pid (\d+)\) joined (.+)$", report, re.MULTILINE)
    assert match, report
    return int(match[1]), [Path(path) for path in match[2].split(", ")]


@pytest.mark.requires_root
def test_on_this_machines_cgroup_v1_the_check_reads_back_each_limit_and_exits_0() -> None:
    done = subprocess.run(COMMAND, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stdout + done.stderr
    report = done.stdout
    pid, groups = joined(report)
    quota = next(group for group in groups if group.parent == Path("/sys/fs/cgroup/cpu")) / "cpu.cfs_quota_us"
    memory = next(group for group in groups if "/memory/" in str(group)) / "memory.limit_in_bytes"
    assert (
        f"cpu_quota=50% of one core is enforced by cgroup v1 ({quota} = 50000); not by cgroup v2:" in report
    )
    assert f"The kernel shows {quota} = 50000: cpu_quota=50% of one core holds" in report
    assert f"The kernel shows {memory} = {256 * MB}: max_memory=256 MB holds" in report
    assert report.rstrip().endswith("Every limit asked for is enforced on this worker.")
    assert f"Removed the check's groups: {', '.join(map(str, groups))}" in report
    assert not any(group.exists() for group in groups) and not psutil.pid_exists(pid)


def test_a_worker_without_cgroups_gets_why_and_the_fix_and_exit_1(tmp_path: Path) -> None:
    env = {**os.environ, "AIRFLOW__JUPYTER_CONDA__CGROUP_MOUNT": str(tmp_path)}

    done = subprocess.run(COMMAND, capture_output=True, text=True, timeout=120, env=env)

    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.startswith(f"[jupyter_conda] cgroup_mount = {tmp_path}, cgroup_parent = (empty: ")
    assert (
        f"NOT ENFORCED: cpu_quota=50% of one core cannot be enforced on this worker: cgroup v2: no "
        f"cgroup2 file system at {tmp_path} or {tmp_path}/unified; cgroup v1: no cgroup v1 cpu hierarchy at "
        f"{tmp_path}/cpu"
    ) in done.stdout
    assert "To enforce it, run the worker as root" in done.stdout
    assert list(tmp_path.iterdir()) == []


def test_on_a_cgroup_v2_worker_the_check_joins_the_group_reads_cpu_max_and_memory_max_and_exits_0(
    fake_v2: FakeCgroup2, capsys: pytest.CaptureFixture[str]
) -> None:
    status = check.main(["--cpu-quota", "50", "--max-memory", "256"])

    report = capsys.readouterr().out
    assert status == 0, report
    pid, (group,) = joined(report)
    assert group.parent == fake_v2.root / RUNS_PARENT.lstrip("/")
    assert f"cgroup_parent = {RUNS_PARENT}, unenforceable_limits = fail" in report
    assert f"cpu_quota=50% of one core is enforced by cgroup v2 ({group}/cpu.max = 50000 100000)\n" in report
    assert f"The kernel shows {group}/cpu.max = 50000 100000: cpu_quota=50% of one core holds" in report
    assert f"The kernel shows {group}/memory.max = {256 * MB}: max_memory=256 MB holds" in report
    assert "cgroup v1" not in report
    assert not group.exists() and not psutil.pid_exists(pid)


def test_a_controller_not_passed_on_is_reported_with_the_fix_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeCgroup2(tmp_path / "cgroup").build()
    parent = fake.group(RUNS_PARENT, subtree_control="cpu")
    fake.install(monkeypatch)
    point_worker_at(monkeypatch, fake.root, RUNS_PARENT, policy="warn")

    status = check.main(["--cpu-quota", "50", "--max-memory", "256"])

    report = capsys.readouterr().out
    assert status == 1, report
    _, (group,) = joined(report)
    assert f"The kernel shows {group}/cpu.max = 50000 100000: cpu_quota=50% of one core holds" in report
    assert (
        f"max_memory=256 MB cannot be enforced on this worker: cgroup v2: the memory controller is not "
        f"enabled in {parent}/cgroup.subtree_control; cgroup v1: no cgroup v1 memory hierarchy at "
        f"{fake.root}/memory"
    ) in report
    assert "NOT ENFORCED: max_memory=256 MB. To enforce it, run the worker as root" in report
    assert "the README's 'Resource limits' shows how" in report
    assert not group.exists()


def test_a_value_no_run_can_use_is_refused_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        check.main(["--max-memory", "0"])

    assert exited.value.code == 2
    assert (
        "max_memory=0 must be a whole number of MB greater than 0, or -1 for no limit"
        in capsys.readouterr().err
    )

"""cpu_quota and max_memory on real notebook runs: the kernel's CPU share measured from the
run's own cgroup accounting; a run stopped through on_kill taking its daemonized
grandchildren with it; runs on a worker whose cgroups are read-only (fail, warn, -1); and a
task on the KubernetesExecutor, whose pod enforces the limits instead.

The tests marked requires_root need root (these machines run tests as root): their runs create
cgroups, and one reads the machine's cgroups through a read-only bind mount in a mount
namespace of its own.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import nbformat
import psutil
import pytest
from structlog.testing import capture_logs

from airflow_jupyter_provider.compat import AirflowException
from airflow_jupyter_provider.hooks.jupyter_conda import JupyterCondaHook
from airflow_jupyter_provider.limits.values import requested_limits
from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator
from tests.helpers import (
    DAEMON_CELL,
    CondaInstall,
    HookRun,
    ProcessMarker,
    dag_in,
    messages,
    run_task,
    wait_for,
    write_notebook,
    written,
)

#: Seconds of wall time over which the kernel's CPU time is measured.
MEASURE_SECONDS = 3.0


def own_cgroup(pid: int | str, controller: str) -> str:
    """The cgroup path of process ``pid`` in ``controller``'s hierarchy ("" for cgroup v2)."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(",") or controller == controllers:
            return path
    raise AssertionError(f"process {pid} is in no {controller!r} cgroup")


def enforced_by(log_lines: list[str]) -> dict[str, Path]:
    """limit -> the cgroup interface file the task log says enforces it."""
    found = {}
    for line in log_lines:
        if match := re.match(r"(.+?) is enforced by cgroup v[12] \((/\S+) = ", line):
            found[match[1]] = Path(match[2])
    return found


def cpu_seconds(quota: Path, pid: str) -> float:
    """The CPU time the kernel counted for the run's own group, the one enforcing ``quota``.

    cgroup v2 counts it in the group that limits it (``cpu.stat``); cgroup v1 in the run's
    group of the ``cpuacct`` hierarchy, which the process ``pid`` of the run is in.
    """
    if quota.name == "cpu.max":
        stat = (quota.parent / "cpu.stat").read_text()
        return int(dict(line.split() for line in stat.splitlines())["usage_usec"]) / 1e6
    usage = Path("/sys/fs/cgroup/cpuacct", own_cgroup(pid, "cpuacct").lstrip("/"), "cpuacct.usage")
    return int(usage.read_text()) / 1e9


class TaskRun(threading.Thread):
    """The operator's task, run as the task runner runs it, in a thread so that a test can stop it."""

    def __init__(self, op: JupyterCondaOperator) -> None:
        super().__init__(daemon=True)
        self.op = op
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            run_task(self.op)
        except BaseException as err:
            self.error = err


@pytest.mark.requires_root
def test_cpu_quota_50_keeps_a_busy_kernel_at_half_a_core(
    conda_connection: CondaInstall, tmp_path: Path
) -> None:
    pid_file, release = tmp_path / "kernel.pid", tmp_path / "release"
    notebook = write_notebook(
        tmp_path / "busy.ipynb",
        "pid_file = release = ''",
        "import os, pathlib\n"
        "pathlib.Path(pid_file).write_text(str(os.getpid()))\n"
        "spins = 0\n"
        "while not os.path.exists(release):\n"
        "    spins += 1\n"
        "print('released after', spins, 'spins')",
    )
    output = tmp_path / "out.ipynb"

    with capture_logs() as logs:
        run = HookRun(
            JupyterCondaHook(),
            input_nb=str(notebook),
            output_nb=str(output),
            conda_env=conda_connection.env_name,
            parameters={"pid_file": str(pid_file), "release": str(release)},
            limits=requested_limits(cpu_quota=50, max_memory=None),
        )
        run.start()
        try:
            assert wait_for(written(pid_file), timeout=60), messages(logs)
            kernel = pid_file.read_text()
            # The log names the group that enforces the quota: the one the kernel runs in.
            quota = enforced_by(messages(logs))["cpu_quota=50% of one core"]
            assert str(quota.parent).endswith(own_cgroup(kernel, "cpu" if quota.name != "cpu.max" else ""))
            used_before, started = cpu_seconds(quota, kernel), time.monotonic()
            time.sleep(MEASURE_SECONDS)
            used_after, ended = cpu_seconds(quota, kernel), time.monotonic()
        finally:
            release.touch()
            run.join(timeout=60)

    share = (used_after - used_before) / (ended - started)
    assert 0.35 <= share <= 0.65, f"the kernel used {share:.0%} of one core"
    assert run.error is None and run.result == str(output)
    assert not quota.parent.exists()  # removed after the run
    assert any(line.startswith("The run used ") and "s of CPU time" in line for line in messages(logs))


@pytest.mark.requires_root
def test_on_kill_ends_the_run_with_its_daemons_and_removes_its_groups(
    conda_connection: CondaInstall, process_marker: ProcessMarker, tmp_path: Path
) -> None:
    kernel_pid_file, daemon_pid_file = tmp_path / "kernel.pid", tmp_path / "daemon.pid"
    notebook = write_notebook(
        tmp_path / "daemon.ipynb",
        "kernel_pid_file = daemon_pid_file = ''",
        DAEMON_CELL,
        "print('daemon started')",
        "import os, pathlib, time\n"
        "pathlib.Path(kernel_pid_file).write_text(str(os.getpid()))\n"
        "time.sleep(300)",
    )
    output = tmp_path / "out.ipynb"
    with dag_in(tmp_path, "on_kill"):
        op = JupyterCondaOperator(
            task_id="nb",
            input_nb=str(notebook),
            output_nb=str(output),
            conda_env=conda_connection.env_name,
            parameters={"kernel_pid_file": str(kernel_pid_file), "daemon_pid_file": str(daemon_pid_file)},
            max_memory=2048,
        )

    with capture_logs() as logs:
        run = TaskRun(op)
        run.start()
        try:
            assert wait_for(written(kernel_pid_file), timeout=60), messages(logs)
            daemon, kernel = int(daemon_pid_file.read_text()), int(kernel_pid_file.read_text())
            groups = {path.parent for path in enforced_by(messages(logs)).values()}
            # The daemon left every process tree of the run, but not the run's cgroup.
            assert daemon not in {p.pid for p in psutil.Process(kernel).children(recursive=True)}
            assert all(str(daemon) in (group / "cgroup.procs").read_text().split() for group in groups)
        finally:
            op.on_kill()  # what the task runner calls when the task is marked failed in the UI
            run.join(timeout=60)

    assert isinstance(run.error, AirflowException) and "was stopped before it finished" in str(run.error)
    assert process_marker.survivors() == {}
    assert not psutil.pid_exists(daemon)
    assert groups and not any(group.exists() for group in groups)
    cells = nbformat.read(output, as_version=4).cells  # the partial notebook is kept
    printing = next(cell for cell in cells if cell.source == "print('daemon started')")
    assert [output.get("text") for output in printing.outputs] == ["daemon started\n"]


# --- a worker whose cgroups are read-only ------------------------------------------------------

#: Runs in the mount namespace: each case runs the hook with its policy and limits; prints JSON.
READ_ONLY_RUNS = textwrap.dedent(
    """
    import json, os, sys
    from structlog.testing import capture_logs
    from airflow_jupyter_provider.compat import AirflowFailException
    from airflow_jupyter_provider.limits.values import requested_limits
    from airflow_jupyter_provider.hooks.jupyter_conda import JupyterCondaHook
    from airflow_jupyter_provider.run.request import NotebookRun

    results = {}
    for case in json.loads(sys.argv[1]):
        os.environ["AIRFLOW__JUPYTER_CONDA__UNENFORCEABLE_LIMITS"] = case["policy"]
        with capture_logs() as logs:
            try:
                JupyterCondaHook().run(NotebookRun.create(
                    input_nb=case["input_nb"], output_nb=case["output_nb"], conda_env=case["conda_env"],
                    parameters={"report": case["report"]},
                    limits=requested_limits(case["cpu_quota"], case["max_memory"]),
                ))
                error = None
            except AirflowFailException as err:
                error = str(err)
        results[case["name"]] = {"error": error, "log": [str(entry.get("event")) for entry in logs]}
    print("RESULTS", json.dumps({"runs": results, "cgroups": open("/proc/self/cgroup").read()}))
    """
)

#: Bind the machine's cgroup mounts read-only at $2, in this namespace only, then run the rest.
READ_ONLY_BIND = (
    'mount --rbind "$1" "$2" || exit 1\n'
    'for m in "$2" "$2"/*/; do\n'
    '    if mountpoint -q "$m"; then mount -o remount,bind,ro "$m" || exit 1; fi\n'
    "done\n"
    'shift 2\nexec "$@"'
)


@pytest.mark.requires_root
def test_read_only_cgroups_fail_limited_tasks_with_the_documented_error_unless_told_to_warn(
    conda_connection: CondaInstall, tmp_path: Path
) -> None:
    read_only = tmp_path / "read-only cgroups"
    read_only.mkdir()
    notebook = write_notebook(
        tmp_path / "report.ipynb",
        "report = ''",
        "import pathlib\npathlib.Path(report).write_text(open('/proc/self/cgroup').read())",
    )

    def case(name: str, policy: str, cpu_quota: int, max_memory: int) -> dict[str, Any]:
        return {
            "name": name,
            "policy": policy,
            "cpu_quota": cpu_quota,
            "max_memory": max_memory,
            "input_nb": str(notebook),
            "output_nb": str(tmp_path / f"{name}.ipynb"),
            "conda_env": conda_connection.env_name,
            "report": str(tmp_path / f"{name}.cgroup"),
        }

    cases = [case("fail", "fail", 50, 512), case("warn", "warn", 50, 512), case("unlimited", "fail", -1, -1)]
    env = {**os.environ, "AIRFLOW__JUPYTER_CONDA__CGROUP_MOUNT": str(read_only)}
    command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", READ_ONLY_BIND, "sh"]
    command += ["/sys/fs/cgroup", str(read_only), sys.executable, "-c", READ_ONLY_RUNS, json.dumps(cases)]

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(done.stdout.split("RESULTS ", 1)[1])
    fail, warn, unlimited = (report["runs"][name] for name in ("fail", "warn", "unlimited"))
    # The documented error: each limit, why each mechanism cannot enforce it, how to grant access.
    assert re.search(
        rf"cpu_quota=50% of one core cannot be enforced on this worker: cgroup v2: the cpu controller is not "
        rf"available in {re.escape(str(read_only))}/unified .*; cgroup v1: cannot create "
        rf"{re.escape(str(read_only))}/cpu/jupyter-conda-\S+: Read-only file system",
        fail["error"] or "",
    ), fail
    assert "max_memory=512 MB cannot be enforced on this worker" in fail["error"]
    assert (
        "run the worker as root (or in a cgroup delegated to its user) with the cgroup file system"
        in fail["error"]
    )
    assert "set [jupyter_conda] unenforceable_limits = warn" in fail["error"]
    assert not (tmp_path / "fail.ipynb").exists()  # refused before anything ran
    # warn: the notebook runs, without the limits, and the log says so.
    assert warn["error"] is None
    assert any(
        line.endswith("The notebook runs without it ([jupyter_conda] unenforceable_limits = warn)")
        for line in warn["log"]
    )
    assert (tmp_path / "warn.cgroup").read_text() == report["cgroups"]
    # -1: nothing to enforce, so nothing to fail: the kernel runs in the worker's own cgroups.
    assert unlimited["error"] is None
    assert not any("enforced" in line for line in unlimited["log"])
    assert (tmp_path / "unlimited.cgroup").read_text() == report["cgroups"]


def test_in_a_kubernetes_executor_pod_the_pod_enforces_the_limits_and_no_cgroup_is_made(
    conda_connection: CondaInstall, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("kubernetes")
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "KubernetesExecutor")
    # Where a cgroup would be needed, this would fail the task: there are none here.
    monkeypatch.setenv("AIRFLOW__JUPYTER_CONDA__CGROUP_MOUNT", str(tmp_path / "no cgroups"))
    notebook = write_notebook(tmp_path / "nb.ipynb", "x = 0", "print('ran in the pod')")
    with dag_in(tmp_path, "in_pod"):
        op = JupyterCondaOperator(
            task_id="nb",
            input_nb=str(notebook),
            output_nb=str(tmp_path / "out.ipynb"),
            conda_env=conda_connection.env_name,
            cpu_quota=50,
            max_memory=512,
        )

    with capture_logs() as logs:
        assert run_task(op) == str(tmp_path / "out.ipynb")

    lines = messages(logs)
    assert (
        "cpu_quota=50% of one core is enforced by the Kubernetes pod (resources.limits.cpu = 500m)" in lines
    )
    assert "max_memory=512 MB is enforced by the Kubernetes pod (resources.limits.memory = 512Mi)" in lines
    assert "ran in the pod" in lines

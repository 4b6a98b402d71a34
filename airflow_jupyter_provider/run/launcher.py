"""The launcher: ``run_notebook.sh`` and its protocol, in one place.

The run's command line is built here and only here: the guardian (``guardian.py``), which
ends the run if the task process dies; then the script's cgroup flags, the mode word that says
how to activate the environment, and after ``--`` the arguments of ``start_papermill.py``, which
the script runs with the environment's Python, or its requirements layer's (the kernel check's,
``--``, papermill's). The
script's own exit statuses, which the guardian passes through, are read back here. Every user
value reaches the script as an argument, never as shell text.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from airflow_jupyter_provider.environments import Activation
from airflow_jupyter_provider.notebook_env import notebook_env

SCRIPT = Path(__file__).with_name("run_notebook.sh")
#: Run as a script by an isolated Python without site-packages (``-I -S``): about 25 ms less
#: start-up for every task. It enables them itself only when it must stop a run.
GUARDIAN = Path(__file__).with_name("guardian.py")

#: Exit statuses of the script that mean the environment or the run's set-up, not the notebook,
#: failed. None of them can be fixed by a retry; each message says what to fix.
ENVIRONMENT_FAILURES: dict[int, str] = {
    90: "sourcing conda.sh at '{conda_path}' failed (see the lines above); check the 'conda_path' extra "
    "of the jupyter_conda connection",
    91: "conda could not activate the environment '{conda_env}'; `conda env list` on the worker shows "
    "the names and prefixes it knows",
    92: "the packed environment '{conda_env}' could not be activated by its bin/activate",
    94: "the environment '{conda_env}' has no papermill: install papermill and ipykernel into it",
    95: "the run could not join the cgroup that enforces its limits (see the line above); on cgroup v2 a "
    "worker that is not root may only move processes between groups below one it may write to",
}
# 93 is start_papermill.py's: no kernel for the notebook; it says why in kernel_check.REPORT.


def command(
    activation: Activation,
    cgroup_procs: Sequence[Path],
    papermill_args: Sequence[str],
    kernel_check: Sequence[str] = (),
) -> list[str]:
    """The argument vector that joins ``cgroup_procs``, activates, then runs papermill, after the
    kernel check when ``kernel_check`` holds its arguments (``KernelCheck.argv``), under a
    guardian that stops it all and removes the groups if this (the task) process dies."""
    guardian = [sys.executable, "-I", "-S", str(GUARDIAN), "--task-pid", str(os.getpid())]
    argv = ["bash", str(SCRIPT)]
    for procs in cgroup_procs:
        guardian += ["--cgroup", str(procs.parent)]
        argv += ["--cgroup", str(procs)]
    if activation.layer is not None:
        argv += ["--layer", activation.layer]
    if activation.conda_sh is None:
        argv += ["packed", activation.target]
    else:
        argv += ["conda", activation.conda_sh, activation.target]
    return [*guardian, "--", *argv, "--", *kernel_check, "--", *papermill_args]


def environment_failure(status: int, *, conda_path: str, conda_env: str) -> str | None:
    """What went wrong before papermill ran, if ``status`` is one of the script's own."""
    message = ENVIRONMENT_FAILURES.get(status)
    return None if message is None else message.format(conda_path=conda_path, conda_env=conda_env)


def child_env(task_env: Mapping[str, str] | None = None, keep: Sequence[str] = ()) -> dict[str, str]:
    """The script's environment: the notebook's (``notebook_env.py``: the worker's less Airflow's
    own, names in ``keep`` kept, plus ``task_env``), with Python's output unbuffered."""
    return {**notebook_env(os.environ, task_env or {}, keep), "PYTHONUNBUFFERED": "1"}

"""Exit statuses of ``run_notebook.sh`` that mean the environment or the run's set-up, not the
notebook, failed.

None of them can be fixed by a retry; each message says what to fix.
"""

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

"""Exit statuses of ``run_notebook.sh`` that mean the environment, not the notebook, failed.

None of them can be fixed by a retry; each message says what to fix.
"""

ENVIRONMENT_FAILURES: dict[int, str] = {
    90: "sourcing conda.sh at '{conda_path}' failed (see the lines above); check the 'conda_path' extra "
    "of the jupyter_conda connection",
    91: "conda could not activate the environment '{conda_env}'; `conda env list` on the worker shows "
    "the names and prefixes it knows",
    92: "the packed environment '{conda_env}' could not be activated by its bin/activate",
    93: "conda-unpack failed in the packed environment '{conda_env}'",
    94: "the environment '{conda_env}' has no papermill: install papermill and ipykernel into it",
}

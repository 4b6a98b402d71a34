"""What the DAG-integrity tests share: the folder of DAGs broken on purpose, its pools, and the
findings each one gives."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from airflow_jupyter_provider.testing import Finding

BROKEN_DAGS = Path(__file__).with_name("broken_dags")
POOLS_FILE = BROKEN_DAGS / "pools.json"
#: A pool that exists only in the database: correct.py's summary task runs in it.
DATABASE_POOL = "gpu"
NOTEBOOKS = BROKEN_DAGS / "notebooks"


def error(dag: str, check: str, problem: str) -> Finding:
    return Finding(f"{dag}.py", dag, "run", check, problem)


def skipped(dag: str, check: str, problem: str) -> Finding:
    return Finding(f"{dag}.py", dag, "run", check, problem, skipped=True)


def at(map_indexes: tuple[int, ...], finding: Finding) -> Finding:
    """``finding`` of a mapped task, found in the tasks of these map indexes only."""
    return dataclasses.replace(finding, map_indexes=map_indexes)


EXPECTED = [
    error(
        "requirements_file_missing",
        "requirements",
        "requirements: cannot read the requirements file 'requirments.txt' "
        f"({BROKEN_DAGS}/requirments.txt): No such file or directory",
    ),
    error(
        "invalid_requirement",
        "requirements",
        "requirements, line 2: 'polars=>1.0' is not a PEP 508 requirement: Expected semicolon (after "
        "name with no version specifier) or end",
    ),
    Finding(
        "import_error.py",
        None,
        None,
        "import",
        "import error: ValueError: task_priority='URGENT' is not one of HIGHEST, HIGH, MEDIUM, LOW, LOWEST",
    ),
    error(
        "missing_notebook",
        "notebook",
        f"input_nb 'notebooks/forcast.ipynb': no notebook at '{NOTEBOOKS}/forcast.ipynb'",
    ),
    error(
        "invalid_template",
        "notebook",
        "input_nb: invalid template 'notebooks/{{ params.notebook }.ipynb': unexpected '}'",
    ),
    error(
        "invalid_notebook",
        "notebook",
        f"input_nb 'notebooks/not_a_notebook.ipynb': '{NOTEBOOKS}/not_a_notebook.ipynb' is not a valid "
        "notebook: Notebook does not appear to be JSON: 'A notebook saved as plain text by mista...",
    ),
    error(
        "unknown_parameter",
        "parameters",
        "parameter 'reigon' is not declared in the parameters cell of 'notebooks/forecast.ipynb' "
        "(did you mean 'region'?)",
    ),
    error(
        "params_not_in_notebook",
        "parameters",
        "parameter 'horizon' is not declared in the parameters cell of 'notebooks/forecast.ipynb'",
    ),
    error(
        "no_parameters_cell",
        "parameters",
        "parameters given ('days') but 'notebooks/no_parameters_cell.ipynb' has no cell tagged 'parameters'",
    ),
    error(
        "invalid_parameters",
        "parameters",
        "parameters: invalid JSON text 'days=3': Expecting value: line 1 column 1 (char 0)",
    ),
    error(
        "missing_parameter",
        "missing-parameters",
        "parameter 'table' has no default (None) in the parameters cell of 'notebooks/needs_input.ipynb' "
        "and is not given",
    ),
    error(
        "unknown_pool",
        "pool",
        f"pool 'gpu_a100' does not exist (not in the Airflow database nor in '{POOLS_FILE}'): "
        "the task would stay scheduled forever",
    ),
    error(
        "missing_kernel",
        "kernel",
        f"kernel 'ir' (the task's kernel=) is not in conda environment '{BROKEN_DAGS}/envs/demo'; the "
        "environment's kernels: python3 (python). Set kernel= to one of them, or install the kernel "
        "'ir' into the environment",
    ),
    error(
        "kernel_stand_in_ambiguous",
        "kernel",
        "the notebook's kernel 'conda-env-analysis-py' is not in conda environment "
        f"'{BROKEN_DAGS}/envs/two_pythons', and 2 of its kernels are for python; the environment's "
        "kernels: python3 (python), python3-gpu (python). Set kernel= to the one to run the notebook with",
    ),
    error(
        "not_an_environment",
        "environment",
        f"conda_env 'envs/plain': '{BROKEN_DAGS}/envs/plain' is not a conda environment "
        "(it has no conda-meta/ folder)",
    ),
    error(
        "no_kernel",
        "kernel",
        "kernel is not set and 'notebooks/no_kernelspec.ipynb' names none (in its kernelspec)",
    ),
    skipped(
        "remote_notebook",
        "notebook",
        "input_nb 's3://team-notebooks/forecast.ipynb' is not local: "
        "notebook, parameters, kernel not checked",
    ),
    skipped(
        "needs_run",
        "notebook",
        "input_nb \"{{ ti.xcom_pull(task_ids='pick_notebook') }}\" needs a real run to render "
        "('ti' is undefined): not checked",
    ),
    skipped(
        "environment_elsewhere",
        "environment",
        "conda_env '/nonexistent/conda/envs/forecast' is not on this machine: kernel not checked",
    ),
    # Mapped tasks: each literal expanded value is checked; a problem of some map indexes names them.
    at(
        (1,),
        error(
            "mapped_unknown_parameter",
            "parameters",
            "parameter 'reigon' is not declared in the parameters cell of 'notebooks/forecast.ipynb' "
            "(did you mean 'region'?)",
        ),
    ),
    at(
        (1,),
        error(
            "mapped_missing_notebook",
            "notebook",
            f"input_nb 'notebooks/forcast.ipynb': no notebook at '{NOTEBOOKS}/forcast.ipynb'",
        ),
    ),
    at(
        (1,),
        error(
            "mapped_expand_kwargs_missing_parameter",
            "missing-parameters",
            "parameter 'table' has no default (None) in the parameters cell of "
            "'notebooks/needs_input.ipynb' and is not given",
        ),
    ),
    error(
        "mapped_unknown_pool",
        "pool",
        f"pool 'gpu_a100' does not exist (not in the Airflow database nor in '{POOLS_FILE}'): "
        "the task would stay scheduled forever",
    ),
    error(
        "mapped_invalid_argument",
        "arguments",
        "run_flag='PAUSED' is not one of NORMAL, FORBIDDEN",
    ),
    skipped(
        "mapped_needs_run",
        "parameters",
        "parameters \"{{ ti.xcom_pull(task_ids='regions') }}\" needs a real run to render "
        "('ti' is undefined): not checked",
    ),
    skipped(
        "mapped_kwargs_need_run",
        "expand",
        "expand_kwargs: the arguments come from the XCom of task 'runs' (known only in a run): not checked",
    ),
]

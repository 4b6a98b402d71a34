"""The example DAGs as a user meets them: they parse, and ``airflow dags test`` runs each one.

The end-to-end runs use the session's conda installation (the ``conda.sh`` double) with an
environment reachable under the name the named-env example asks for, ``jupyter-demo``,
and the session's conda-pack archive for the packed example, handed over through the
Variable that example reads. Nothing Airflow, papermill or bash does is replaced.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import pytest

from airflow_jupyter_provider.compat import dag_bag_class
from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator
from devtools.conda_layout import conda_root
from tests.helpers import REPO, CondaInstall, injected_parameters

if TYPE_CHECKING:
    from airflow.dag_processing.dagbag import DagBag

EXAMPLE_DAGS = REPO / "example_dags"
NAMED_ENV = "jupyter-demo"
EXAMPLE_DAG_IDS = ["jupyter_conda_named_env", "jupyter_conda_packed_env"]
#: Seconds one ``airflow dags test`` may take; a healthy run takes about 15.
DAG_TEST_TIMEOUT = 600


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return dag_bag_class()(dag_folder=EXAMPLE_DAGS)


def parameters_cell_names(notebook_path: Path) -> set[str]:
    """The names a notebook's ``parameters`` cell assigns: what papermill can set."""
    notebook = nbformat.read(notebook_path, as_version=4)
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    return {target.id for node in ast.parse(cell.source).body for target in node.targets}


def test_example_dags_parse_without_errors(dagbag: DagBag) -> None:
    assert dagbag.import_errors == {}
    assert sorted(dagbag.dag_ids) == EXAMPLE_DAG_IDS


@pytest.mark.parametrize("dag_id", EXAMPLE_DAG_IDS)
def test_example_dag_runs_notebooks_whose_parameters_the_trigger_form_offers(
    dagbag: DagBag, dag_id: str
) -> None:
    dag = dagbag.dags[dag_id]
    # devtools.demo finds the DAGs by file name.
    assert Path(dag.fileloc).stem == dag_id
    tasks = [task for task in dag.tasks if isinstance(task, JupyterCondaOperator)]
    assert tasks, f"{dag_id} has no JupyterCondaOperator task"
    for task in tasks:
        notebook = Path(dag.fileloc).parent / task.input_nb
        assert notebook.is_file(), f"{task.task_id}: no notebook at {notebook}"
        assert set(dag.params) == parameters_cell_names(notebook)
        assert task.parameters == "{{ params | tojson }}"


@pytest.fixture(scope="module")
def airflow_env(
    conda_install: CondaInstall, packed_env: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """Environment variables for ``airflow`` commands: the examples' connection and Variables.

    The session's environment is made known to a conda installation of this module's own
    under the name the named-env example uses, so the example runs as written.
    """
    root = tmp_path_factory.mktemp("conda-for-examples")
    conda_sh = conda_root(root)
    (root / "envs" / NAMED_ENV).symlink_to(conda_install.prefix, target_is_directory=True)
    connection = {"conn_type": "jupyter_conda", "extra": {"conda_path": str(conda_sh)}}
    env = {
        **os.environ,
        "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS),
        "AIRFLOW_CONN_JUPYTER_CONDA_DEFAULT": json.dumps(connection),
        "AIRFLOW_VAR_JUPYTER_DEMO_ENV_ARCHIVE": str(packed_env),
        "AIRFLOW_VAR_JUPYTER_DEMO_OUTPUT_DIR": str(tmp_path_factory.mktemp("example-output")),
    }
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True, capture_output=True
    )
    return env


def printed_lines(notebook: nbformat.NotebookNode) -> list[str]:
    """Every non-blank line the notebook's cells printed."""
    return [
        line
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
        for line in output["text"].splitlines()
        if line.strip()
    ]


@pytest.mark.e2e
@pytest.mark.parametrize("dag_id", EXAMPLE_DAG_IDS)
def test_airflow_dags_test_runs_example(dag_id: str, dagbag: DagBag, airflow_env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "test", dag_id],
        env=airflow_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=DAG_TEST_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-5000:]

    output_dir = Path(airflow_env["AIRFLOW_VAR_JUPYTER_DEMO_OUTPUT_DIR"]) / dag_id
    outputs = list(output_dir.glob("*/*.ipynb"))
    assert len(outputs) == 1, f"expected one output notebook under {output_dir}, found {outputs}"

    defaults = dagbag.dags[dag_id].params.validate()
    injected = injected_parameters(outputs[0])
    assert injected == defaults
    assert {name: type(value) for name, value in injected.items()} == {
        name: type(value) for name, value in defaults.items()
    }

    lines = printed_lines(nbformat.read(outputs[0], as_version=4))
    # Both notebooks print the types their kernel got: an integer, a number, a string, an array.
    assert "parameter types: int, float, str, list" in lines
    missing = [line for line in lines if line not in result.stdout]
    assert lines and not missing, f"printed by the notebook but not in the task log: {missing}"

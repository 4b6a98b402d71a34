"""Notebooks for tests, and reading back what papermill injected into them."""

from __future__ import annotations

import ast
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import airflow
import nbformat
import pytest
from packaging.version import Version

from devtools.notebooks import write_notebook

__all__ = ["injected_parameters", "tar_member", "write_notebook"]


#: Declarative connection form fields (``conn-fields`` in the provider info) arrived in Airflow 3.2.
needs_connection_form_fields = pytest.mark.skipif(
    Version(airflow.__version__) < Version("3.2"),
    reason=f"Airflow {airflow.__version__} has no declarative connection form fields (3.2 and later do)",
)

#: One parameter of every JSON type.
TYPED_PARAMETERS: dict[str, Any] = {
    "an_int": 42,
    "a_float": 2.5,
    "a_bool": True,
    "a_none": None,
    "a_list": [1, "two", 3.5, None, False],
    "a_dict": {"key": [1, 2], "nested": {"deep": None, "flag": False}},
    "a_str": "hello world",
}
#: The notebook's defaults have other types, so a value that arrived as text would show.
TYPED_DEFAULTS = (
    'an_int = 0\na_float = 0.0\na_bool = False\na_none = "x"\na_list = []\na_dict = {}\na_str = ""'
)


def injected_parameters(output_nb: Path) -> dict:
    """The values papermill injected into ``output_nb``, read back as Python literals."""
    notebook = nbformat.read(output_nb, as_version=4)
    cell = next(c for c in notebook.cells if "injected-parameters" in c.metadata.get("tags", []))
    values = {}
    for statement in ast.parse(cell.source).body:
        assert isinstance(statement, ast.Assign), ast.dump(statement)
        values[statement.targets[0].id] = ast.literal_eval(statement.value)
    return values


def tar_member(
    name: str, *, kind: bytes = tarfile.REGTYPE, target: str = "", mode: int = 0o644
) -> tarfile.TarInfo:
    """A tar member of any kind (file, link, device, FIFO), for archives made by hand."""
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, target, mode
    return info


def airflow_dags_test(
    dag_id: str, dag_file: Path, conf: dict[str, Any] | None = None
) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    """``airflow dags test DAG_ID -f DAG_FILE [-c CONF]`` in the session's Airflow home: the
    finished command (its output is the task logs) and the state of each task of the DAG."""
    command = [sys.executable, "-m", "airflow", "dags", "test", dag_id, "-f", str(dag_file)]
    if conf is not None:
        command += ["-c", json.dumps(conf)]
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(dag_file.parent)}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    with sqlite3.connect(Path(os.environ["AIRFLOW_HOME"]) / "airflow.db") as db:
        rows = db.execute("SELECT task_id, state FROM task_instance WHERE dag_id = ?", (dag_id,)).fetchall()
    return result, dict(rows)

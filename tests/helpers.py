"""Notebooks for tests, and reading back what papermill injected into them."""

from __future__ import annotations

import ast
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import airflow
import nbformat
import pytest
from airflow.sdk import DAG
from airflow.sdk.definitions.param import process_params
from packaging.version import Version

from airflow_jupyter_provider.exceptions import InvalidRunError, to_airflow
from airflow_jupyter_provider.hooks.jupyter_conda import JupyterCondaHook
from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator
from airflow_jupyter_provider.run.request import NotebookRun
from airflow_jupyter_provider.run.run_result import RunResult
from devtools.notebooks import write_notebook
from devtools.processes import marked_processes

__all__ = ["injected_parameters", "tar_member", "write_notebook"]


#: Debian's Chromium and its driver, for the tests that look at a page as a user does.
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: Seconds a page may take to show what a test waits for.
UI_TIMEOUT = 30

#: Declarative connection form fields (``conn-fields`` in the provider info) arrived in Airflow 3.2.
needs_connection_form_fields = pytest.mark.skipif(
    Version(airflow.__version__) < Version("3.2"),
    reason=f"Airflow {airflow.__version__} has no declarative connection form fields (3.2 and later do)",
)

#: A cell that fails once ``threshold=42`` is injected: ``ValueError: threshold 42 is too high``.
THRESHOLD_CHECK = "# check the threshold\nraise ValueError(f'threshold {threshold} is too high')"

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


def run_notebook(
    hook: JupyterCondaHook,
    *,
    execution_timeout: int | None = None,
    start_timeout: int | None = None,
    **arguments: Any,
) -> RunResult:
    """``hook.run`` of the NotebookRun these arguments make, as the operator makes it after
    rendering: a value that breaks a rule fails without retry."""
    try:
        run = NotebookRun.create(
            jupyter_execution_timeout=execution_timeout, jupyter_start_timeout=start_timeout, **arguments
        )
    except InvalidRunError as err:
        raise to_airflow(err) from err
    return hook.run(run)


class HookRun(threading.Thread):
    """:func:`run_notebook` in a thread of its own; keeps the output notebook or the exception."""

    def __init__(self, hook: JupyterCondaHook, **kwargs: Any) -> None:
        super().__init__(daemon=True)
        self.hook, self.kwargs = hook, kwargs
        self.result: str | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = run_notebook(self.hook, **self.kwargs).output_nb
        except BaseException as err:
            self.error = err


#: What Airflow 3.1 itself logs whenever it reads a connection whose type has a '_' in it.
AIRFLOW_3_1_SCHEME_WARNING = "Connection schemes (type: jupyter_conda) shall not contain '_'"


def messages(logs: list[dict[str, Any]]) -> list[str]:
    """The hook's log lines as the task log shows them (structlog entries captured by capture_logs)."""
    events = (str(entry.get("event")) for entry in logs)
    return [event for event in events if not event.startswith(AIRFLOW_3_1_SCHEME_WARNING)]


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def written(path: Path) -> Callable[[], bool]:
    """A condition for ``wait_for``: ``path`` holds text. A notebook's ``write_text`` creates
    the file a moment before it writes to it, so "it exists" is not enough."""
    return lambda: path.exists() and path.read_text() != ""


#: A cell that waits (at most two minutes) for the file ``go`` names, so a test sees the run
#: while it is in this cell.
WAIT_FOR_GO = "import os, time\nfor _ in range(1200):\n    if os.path.exists(go): break\n    time.sleep(0.1)"


#: The run id of the context :func:`run_task` makes.
RUN_ID = "manual__2026-01-02T03:04:05+00:00"


def render_task(op: JupyterCondaOperator, conf: dict[str, Any] | None = None) -> Any:
    """Render ``op``'s templates from a context like the task runner's; the context."""
    dag = op.dag
    context: Any = {
        "dag": dag,
        "task": op,
        "run_id": RUN_ID,
        # How the task runner merges DAG params, task params and the trigger form's conf.
        "params": process_params(dag, op, conf, suppress_exception=False),
    }
    op.render_template_fields(context)
    return context


def run_task(op: JupyterCondaOperator, conf: dict[str, Any] | None = None) -> Any:
    """Render ``op``'s templates from a context like the task runner's, then execute it."""
    return op.execute(render_task(op, conf))


def dag_in(folder: Path, dag_id: str, **kwargs: Any) -> DAG:
    """A DAG whose file is in ``folder`` (the operator resolves relative paths from there)."""
    dag = DAG(dag_id, schedule=None, **kwargs)
    dag.fileloc = str(folder / f"{dag_id}.py")
    return dag


#: A cell that starts a daemon the way a careless notebook does: in a session of its own, its
#: parent gone at once, so it belongs to no process tree of the run; its pid goes to a file.
DAEMON_CELL = (
    "import subprocess\n"
    "subprocess.run(['setsid', 'sh', '-c', 'sleep 300 </dev/null >/dev/null 2>&1 & echo $! > \"$1\"',\n"
    "                'sh', daemon_pid_file], check=True)"
)


REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class CondaInstall:
    root: Path
    conda_sh: Path
    env_name: str
    prefix: Path


class ProcessMarker:
    """Finds the live processes started while a ``process_marker`` fixture was active."""

    def __init__(self, variable: str, value: str) -> None:
        self._variable, self._value = variable, value

    def processes(self) -> dict[int, str]:
        """pid -> command line of every running (non-zombie) process carrying the marker."""
        return marked_processes(self._variable, self._value)

    def survivors(self, grace: float = 10.0) -> dict[int, str]:
        """The marked processes still running after up to ``grace`` seconds of waiting for none."""
        import time

        deadline = time.monotonic() + grace
        while (found := self.processes()) and time.monotonic() < deadline:
            time.sleep(0.1)
        return found


#: Modules a DAG file must not import through the provider: each costs a DAG parse tens of ms.
HEAVY = ("papermill", "nbformat", "nbclient", "jupyter_client", "conda_pack", "libarchive")


def heavy_modules_after(statement: str) -> list[str]:
    """The HEAVY modules a fresh interpreter holds after running ``statement``."""
    code = f"import json, sys\n{statement}\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])

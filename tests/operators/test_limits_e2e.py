"""Limits, alarms and kills as Airflow runs them: one ``airflow dags test`` of a DAG whose
tasks exceed max_memory (retries=2), outlive a WARN and a WARNFAILED timeout, and get SIGTERM
while their notebook runs. Every task leaves no process behind, daemons included.

Needs root (these machines run tests as root): the runs create cgroups.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import psutil
import pytest

from tests.helpers import DAEMON_CELL, CondaInstall, ProcessMarker, wait_for, write_notebook

pytestmark = pytest.mark.e2e

DAG_ID = "jupyter_conda_limits_e2e"

DAG_FILE = """
from pathlib import Path

from airflow.sdk import DAG, BaseNotifier

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

ALARMS = Path({alarms!r})


def record_alarm(context):
    with ALARMS.open("a") as alarms:
        alarms.write(context["ti"].task_id + "\\n")


def broken_pager(context):
    raise RuntimeError("the pager service is down")


class FileNotifier(BaseNotifier):
    template_fields = ("line",)

    def __init__(self, line):
        super().__init__()
        self.line = line

    def notify(self, context):
        with ALARMS.open("a") as alarms:
            alarms.write(self.line + "\\n")


def sleeper(task_id, **kwargs):
    files = {{
        "started_file": f"{folder}/{{task_id}}.started",
        "daemon_pid_file": f"{folder}/{{task_id}}.daemon",
    }}
    return JupyterCondaOperator(
        task_id=task_id, input_nb={sleeper!r}, output_nb=f"out/{{task_id}}.ipynb", conda_env={env!r},
        parameters=files, max_memory=1024, **kwargs,
    )


with DAG({dag_id!r}, schedule=None):
    JupyterCondaOperator(
        task_id="oom", input_nb={oom!r}, output_nb="out/oom.ipynb", conda_env={env!r},
        parameters={{"megabytes": 400}}, max_memory=200, retries=2, retry_interval=0,
    )
    JupyterCondaOperator(
        task_id="warn", input_nb={waits!r}, output_nb="out/warn.ipynb", conda_env={env!r},
        parameters={{"alarms": str(ALARMS)}},
        timeout=0.05, timeout_strategy="WARN", on_timeout_alarm=[broken_pager, record_alarm],
    )
    sleeper(
        "warnfailed", timeout=0.1, timeout_strategy="WARNFAILED",
        on_timeout_alarm=FileNotifier("{{{{ ti.task_id }}}} notified"),
    )
    sleeper("sigterm")
"""


@pytest.fixture(scope="module")
def airflow_db() -> None:
    """The metadata database of this test run's AIRFLOW_HOME, migrated."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True, timeout=300
    )


def task_instances() -> dict[str, tuple[str, int]]:
    with sqlite3.connect(Path(os.environ["AIRFLOW_HOME"]) / "airflow.db") as db:
        rows = db.execute(
            "SELECT task_id, state, try_number FROM task_instance WHERE dag_id = ?", (DAG_ID,)
        ).fetchall()
    return {task_id: (state, try_number) for task_id, state, try_number in rows}


@pytest.mark.requires_root
def test_limits_alarms_and_kills_through_airflow(
    conda_connection: CondaInstall, process_marker: ProcessMarker, airflow_db: None, tmp_path: Path
) -> None:
    dags, folder = tmp_path / "dags", tmp_path / "run"
    folder.mkdir()
    notebooks = {
        "oom": write_notebook(
            dags / "oom.ipynb",
            "megabytes = 0",
            "print('allocating', megabytes, 'MB')",
            "block = b'x' * (megabytes * 2**20)",
            "print('never printed')",
        ),
        "waits": write_notebook(
            dags / "waits.ipynb",
            "alarms = ''",
            "import os, time\n"
            "deadline = time.monotonic() + 120\n"
            "while 'warn' not in (open(alarms).read().splitlines() if os.path.exists(alarms) else []):\n"
            "    assert time.monotonic() < deadline, 'no alarm'\n"
            "    time.sleep(0.1)\n"
            "print('the alarm fired while the notebook ran')",
        ),
        "sleeper": write_notebook(
            dags / "sleeper.ipynb",
            "started_file = daemon_pid_file = ''",
            DAEMON_CELL,
            "print('daemon started')",
            "import pathlib, time\npathlib.Path(started_file).touch()\ntime.sleep(300)",
        ),
    }
    alarms = folder / "alarms"
    dag_file = dags / f"{DAG_ID}.py"
    dag_file.write_text(
        textwrap.dedent(DAG_FILE).format(
            dag_id=DAG_ID,
            alarms=str(alarms),
            folder=str(folder),
            env=conda_connection.env_name,
            **{name: str(path) for name, path in notebooks.items()},
        )
    )
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(dags)}

    airflow = subprocess.Popen(
        [sys.executable, "-m", "airflow", "dags", "test", DAG_ID, "-f", str(dag_file)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # The task process is `airflow dags test` itself: SIGTERM it while "sigterm" runs its notebook.
        assert wait_for(lambda: (folder / "sigterm.started").exists() or airflow.poll() is not None, 240)
        airflow.send_signal(signal.SIGTERM)
        log, _ = airflow.communicate(timeout=300)
    finally:
        airflow.kill()

    assert task_instances() == {
        "oom": ("failed", 1),  # retries=2, not used: a retry would run out of memory again
        "warn": ("success", 1),
        "warnfailed": ("failed", 1),
        "sigterm": ("failed", 1),
    }, log[-5000:]
    # max_memory: the kernel's own OOM counter says the limit was exceeded; the partial notebook stays.
    assert "the memory limit of 200 MB (max_memory) was exceeded" in log
    oom_printed = [
        o.get("text")
        for c in nbformat.read(dags / "out" / "oom.ipynb", as_version=4).cells
        for o in c.get("outputs", [])
    ]
    assert "allocating 400 MB\n" in oom_printed and "never printed\n" not in oom_printed
    # Each alarm fired once: WARN's despite its first callback failing, WARNFAILED's through a Notifier.
    assert sorted(alarms.read_text().splitlines()) == ["warn", "warnfailed notified"]
    assert "Timeout alarm: the task has run for 0:00:03, its timeout; the notebook goes on running" in log
    assert "The on_timeout_alarm callback broken_pager failed; the task goes on" in log
    assert "Timeout alarm: the task has run for 0:00:06, its timeout; the task fails now" in log
    assert "AirflowTaskTimeout" in log
    assert "The run of " in log and "was stopped before it finished" in log  # SIGTERM -> on_kill
    # No process of any run survives: not the kernels, not the daemons they started.
    assert process_marker.survivors() == {}
    for task_id in ("warnfailed", "sigterm"):
        assert not psutil.pid_exists(int((folder / f"{task_id}.daemon").read_text()))
        cells = nbformat.read(dags / "out" / f"{task_id}.ipynb", as_version=4).cells
        assert any(o.get("text") == "daemon started\n" for c in cells for o in c.get("outputs", []))
    # Every group a run had is gone.
    groups = {Path(path).parent for path in re.findall(r"is enforced by cgroup v[12] \((/\S+) = ", log)}
    assert len(groups) >= 3 and not any(group.exists() for group in groups)

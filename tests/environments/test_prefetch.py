"""``python -m airflow_jupyter_provider.environments.prefetch DAG_FOLDER``, run as a worker's start-up
runs it: a real DAG folder loaded by Airflow's DagBag, the session's real conda-pack archive
unpacked into a cache of the test's own, then a real task run in that cache."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow.sdk import DAG
from structlog.testing import capture_logs

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator
from tests.helpers import write_notebook

DAG_FILE = """
from datetime import datetime

from airflow.sdk import DAG, task

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

ARCHIVE, SHA256 = {archive!r}, {sha256!r}
NOTEBOOK = dict(input_nb="nb.ipynb", output_nb="/tmp/out.ipynb")

with DAG("warm", schedule=None, start_date=datetime(2025, 1, 1)):
    JupyterCondaOperator(task_id="first", conda_env=ARCHIVE, conda_env_sha256=SHA256, **NOTEBOOK)
    JupyterCondaOperator(task_id="second", conda_env=ARCHIVE, conda_env_sha256=SHA256, **NOTEBOOK)
    JupyterCondaOperator(task_id="named", conda_env="jupyter-test", **NOTEBOOK)
    JupyterCondaOperator(task_id="by_variable", conda_env="{{{{ var.value.team_env }}}}", **NOTEBOOK)
    JupyterCondaOperator(task_id="by_date", conda_env="envs/{{{{ ds }}}}.tar.gz", **NOTEBOOK)
    JupyterCondaOperator.partial(
        task_id="mapped", conda_env=ARCHIVE, conda_env_sha256=SHA256, **NOTEBOOK
    ).expand(parameters=[{{"n": 1}}, {{"n": 2}}])

    @task
    def runs() -> list:
        return [{{"parameters": {{"n": 3}}}}]

    JupyterCondaOperator.partial(task_id="from_xcom", conda_env=ARCHIVE, **NOTEBOOK).expand_kwargs(runs())
"""


@pytest.fixture
def cache_dir() -> Iterator[Path]:
    """An environment cache of the test's own, on tmpfs where there is one (as the session's is)."""
    folder = Path(
        tempfile.mkdtemp(prefix="prefetch-", dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else None)
    )
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def dag_folder(tmp_path: Path, archive: Path, sha256: str) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "warm.py").write_text(DAG_FILE.format(archive=str(archive), sha256=sha256))
    return folder


def prefetch(folder: Path, cache: Path, *options: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "airflow_jupyter_provider.environments.prefetch", str(folder), *options],
        env={**os.environ, "AIRFLOW__JUPYTER_CONDA__ENV_CACHE_DIR": str(cache), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def unpacked(cache: Path) -> list[Path]:
    """The environments the cache holds, ready (with their completion marker)."""
    return sorted(marker.with_suffix("") for marker in cache.glob("*.json"))


def test_each_archive_is_unpacked_once_and_the_first_task_finds_it_cached(
    packed_env: Path, cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sha256 = hashlib.sha256(packed_env.read_bytes()).hexdigest()

    done = prefetch(dag_folder(tmp_path, packed_env, sha256), cache_dir)

    assert done.returncode == 0, done.stderr
    [by_date, by_variable, first, from_xcom] = done.stdout.splitlines()
    assert by_date == "skipped warm.by_date conda_env needs a run: 'envs/{{ ds }}.tar.gz' reads ds"
    assert by_variable == (
        "skipped warm.by_variable conda_env needs a run: '{{ var.value.team_env }}': "
        "Variable 'team_env' is read without a default"
    )
    assert re.fullmatch(rf"ok      {re.escape(str(packed_env))}  \d+\.\d MB  \d+\.\d s", first), first
    assert from_xcom == (
        "skipped warm.from_xcom conda_env needs a run: expand_kwargs: the arguments come from "
        "the XCom of task 'runs' (known only in a run)"
    )
    assert " unpacked into " in done.stderr
    [prefix] = unpacked(cache_dir)
    assert (prefix / "bin" / "activate").is_file()

    monkeypatch.setenv("AIRFLOW__JUPYTER_CONDA__ENV_CACHE_DIR", str(cache_dir))
    notebook = write_notebook(tmp_path / "nb.ipynb", "n = 0", "print('squared', n * n)")
    with DAG("packed", schedule=None) as dag:
        op = JupyterCondaOperator(
            task_id="nb",
            input_nb=str(notebook),
            output_nb=str(tmp_path / "out.ipynb"),
            conda_env=str(packed_env),
            conda_env_sha256=sha256,
            parameters={"n": 7},
        )
    dag.fileloc = str(tmp_path / "dag.py")
    with capture_logs() as logs:
        op.execute({"dag": dag, "task": op})
    log = [entry["event"] % entry.get("positional_args", ()) for entry in logs]

    assert any(f" cached at {prefix} " in line for line in log), log
    assert not any(" unpacked into " in line or " fetched " in line for line in log), log
    assert "squared 49" in log


def test_wrong_pin_is_a_failed_line_and_exit_status_1_and_nothing_is_unpacked(
    packed_env: Path, cache_dir: Path, tmp_path: Path
) -> None:
    sha256 = hashlib.sha256(packed_env.read_bytes()).hexdigest()
    wrong = "0" * 64
    folder = dag_folder(tmp_path, packed_env, wrong)
    (folder / "broken.py").write_text("from airflow.sdk import DAG\n\nraise ValueError('no such team')\n")

    done = prefetch(folder, cache_dir)

    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == (
        f"skipped {folder / 'broken.py'} does not import (ValueError: no such team): "
        "its environments are not known"
    )
    assert lines[3] == (
        f"failed  {packed_env}: conda_env: '{packed_env}' has sha256 {sha256}, but conda_env_sha256 is "
        f"{wrong}: the archive is not the one the task expects"
    )
    assert len(lines) == 5, lines
    assert unpacked(cache_dir) == []


def test_conn_id_names_the_connection_whose_cache_is_warmed(
    packed_env: Path, cache_dir: Path, tmp_path: Path
) -> None:
    sha256 = hashlib.sha256(packed_env.read_bytes()).hexdigest()
    folder = dag_folder(tmp_path, packed_env, sha256)
    connection = {"conn_type": "jupyter_conda", "extra": {"env_cache_dir": str(cache_dir / "team")}}

    done = prefetch(
        folder, cache_dir / "config", "--conn-id", "team_envs", AIRFLOW_CONN_TEAM_ENVS=json.dumps(connection)
    )
    missing = prefetch(folder, cache_dir / "config", "--conn-id", "no_such_connection")

    assert done.returncode == 0, done.stderr
    assert len(unpacked(cache_dir / "team")) == 1
    assert not (cache_dir / "config").exists()
    assert missing.returncode == 1
    # The named environment needs no connection: it is not among them.
    failed = [line.split(":")[0] for line in missing.stdout.splitlines() if line.startswith("failed")]
    assert failed == [
        "failed  warm.first",
        "failed  warm.mapped[0]",
        "failed  warm.mapped[1]",
        "failed  warm.second",
    ]
    assert "jupyter_conda_conn_id 'no_such_connection': " in missing.stdout


def test_missing_folder_is_a_usage_error(cache_dir: Path, tmp_path: Path) -> None:
    done = prefetch(tmp_path / "no-dags", cache_dir)

    assert done.returncode == 2
    assert f"DAG_FOLDER: nothing at '{tmp_path / 'no-dags'}'" in done.stderr
    assert done.stdout == ""

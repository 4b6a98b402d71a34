"""Packed environments the way a DAG names them: through the operator, from every kind of
source, with the connection's resource_root and env_cache_dir, and a pinned sha256.

Real papermill runs in a real conda-pack archive served from a folder, an HTTP server and an
S3-compatible server on loopback.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG
from structlog.testing import capture_logs

from airflow_jupyter_provider.compat import AirflowFailException
from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator
from tests.environments.helpers import HttpServer, S3Server
from tests.helpers import injected_parameters, write_notebook


def run(folder: Path, conda_env: str, **kwargs: Any) -> tuple[str, list[str]]:
    """Run a small notebook through the operator; return the XCom value and the log lines."""
    notebook = write_notebook(folder / "nb.ipynb", "n = 0", "print('squared', n * n)")
    with DAG("packed", schedule=None) as dag:
        op = JupyterCondaOperator(
            task_id="nb",
            input_nb=str(notebook),
            output_nb=str(folder / "out.ipynb"),
            conda_env=conda_env,
            parameters={"n": 7},
            **kwargs,
        )
    dag.fileloc = str(folder / "dag.py")
    with capture_logs() as logs:
        result = op.execute({"dag": dag, "task": op})
    return result, [entry["event"] % entry.get("positional_args", ()) for entry in logs]


@pytest.fixture
def connection(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Set the jupyter_conda connection's extras; returns the cache folder it names."""

    def set_extra(**extra: str) -> Path:
        cache = tmp_path / "cache"
        conn = {"conn_type": "jupyter_conda", "extra": {"env_cache_dir": str(cache), **extra}}
        monkeypatch.setenv("AIRFLOW_CONN_JUPYTER_CONDA_DEFAULT", json.dumps(conn))
        return cache

    return set_extra


def test_relative_archive_from_resource_root_is_unpacked_once_into_the_connections_cache(
    packed_env: Path, connection, tmp_path: Path
) -> None:
    cache = connection(resource_root=str(packed_env.parent))

    first, first_log = run(tmp_path, packed_env.name)
    second, second_log = run(tmp_path, packed_env.name)

    assert first == second == str(tmp_path / "out.ipynb")
    assert injected_parameters(tmp_path / "out.ipynb") == {"n": 7}
    assert any(" unpacked into " in line and str(cache) in line for line in first_log), first_log
    assert any(" cached at " in line for line in second_log), second_log
    assert not any(" unpacked into " in line for line in second_log)
    assert "squared 49" in second_log


def test_sha256_pin_accepts_the_archive_and_refuses_another_without_retry(
    packed_env: Path, connection, tmp_path: Path
) -> None:
    connection()
    sha = hashlib.sha256(packed_env.read_bytes()).hexdigest()

    assert run(tmp_path, str(packed_env), conda_env_sha256=sha)[0] == str(tmp_path / "out.ipynb")
    wrong = "0" * 64
    with pytest.raises(AirflowFailException) as refused:
        run(tmp_path, str(packed_env), conda_env_sha256=wrong)
    assert wrong in str(refused.value)
    assert sha in str(refused.value)


def test_archive_over_http(packed_env: Path, connection, http_server: HttpServer, tmp_path: Path) -> None:
    connection()
    (http_server.root / "envs").mkdir(exist_ok=True)
    (http_server.root / "envs" / packed_env.name).write_bytes(packed_env.read_bytes())

    result, log = run(tmp_path, f"{http_server.url}/envs/{packed_env.name}")

    assert result == str(tmp_path / "out.ipynb")
    assert "squared 49" in log
    assert http_server.gets(f"/envs/{packed_env.name}") == 1


def test_archive_in_s3_with_conda_env_conn_id(
    packed_env: Path, connection, s3_server: S3Server, s3_connection: str, tmp_path: Path
) -> None:
    connection()
    url = s3_server.put(f"envs/{packed_env.name}", packed_env.read_bytes())

    result, log = run(tmp_path, url, conda_env_conn_id=s3_connection)

    assert result == str(tmp_path / "out.ipynb")
    assert "squared 49" in log
    assert any(f"Packed environment {url}: fetched" in line for line in log), log

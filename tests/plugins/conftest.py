"""The Airflow API server's app in this process, on the session's SQLite database, with task
instances that recorded rendered notebooks (dags/notebook_records.py, run by ``airflow dags test``);
``api_server`` serves it over HTTP to a browser."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import wait_for
from tests.plugins.helpers import RECORDS, NotebookRuns, NotebookStore

DAGS = Path(__file__).with_name("dags")


def airflow(*args: str, env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *args], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, f"airflow {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="session")
def notebook_runs(tmp_path_factory: pytest.TempPathFactory) -> NotebookRuns:
    """One successful run of each DAG in dags/, in the session's Airflow database."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    output = tmp_path_factory.mktemp("rendered")
    env = dict(os.environ, AIRFLOW__CORE__DAGS_FOLDER=str(DAGS), NOTEBOOK_VIEW_OUTPUT=str(output))
    airflow("db", "migrate", env=env)
    run_ids = {}
    for dag_id in ("notebook_view_records", "notebook_view_other"):
        airflow("dags", "test", dag_id, env=env)
        with create_session() as session:
            run = session.scalars(select(DagRun).where(DagRun.dag_id == dag_id)).one()
            assert run.state == "success", f"{dag_id}: {run.state}"
            run_ids[dag_id] = run.run_id
    return NotebookRuns(run_ids["notebook_view_records"], run_ids["notebook_view_other"], output)


@pytest.fixture(scope="session")
def api_client(notebook_runs: NotebookRuns) -> Iterator:
    """A client of the app ``airflow api-server`` serves, plugins mounted the way Airflow mounts them."""
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    with TestClient(create_app("core")) as client:
        yield client


@pytest.fixture(scope="session")
def api_server(api_client) -> Iterator[str]:
    """The app of ``api_client`` served over HTTP on loopback, for a browser: its base URL.

    Its lifespan already ran in ``api_client``, so uvicorn does not run it again.
    """
    import socket
    import threading

    import uvicorn

    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(api_client.app, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    assert wait_for(lambda: server.started, timeout=30)
    yield f"http://127.0.0.1:{listening.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="session")
def token(api_client) -> Callable[[str | None], str]:
    """``token(role)``: a JWT the API server signed for a SimpleAuthManager user of that role (or None)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    def issue(role: str | None) -> str:
        return get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=f"user-{role}", role=role))

    return issue


@pytest.fixture(scope="session")
def notebook_store(notebook_runs: NotebookRuns) -> Iterator[NotebookStore]:
    """moto's S3 server on loopback with the bucket ``notebooks``, and the Airflow connection
    ``notebook_s3`` to it defined as the API server sees connections (an ``AIRFLOW_CONN_``
    variable)."""
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
    client = boto3.client("s3", endpoint_url=endpoint, **keys)
    client.create_bucket(Bucket="notebooks")
    connection = {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"},
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_NOTEBOOK_S3", json.dumps(connection))
        yield NotebookStore(client, "notebooks")
    server.stop()


@pytest.fixture
def live_task(notebook_runs: NotebookRuns) -> Iterator[None]:
    """The ``live`` task instance made running again (its state in the database), as if its
    notebook were still going; success again afterwards."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import update

    def set_state(state: str) -> None:
        with create_session() as session:
            session.execute(
                update(TaskInstance)
                .where(TaskInstance.dag_id == RECORDS, TaskInstance.run_id == notebook_runs.records_run_id)
                .where(TaskInstance.task_id == "live")
                .values(state=state)
            )

    set_state("running")
    yield
    set_state("success")

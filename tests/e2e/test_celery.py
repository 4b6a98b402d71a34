"""The operator on CeleryExecutor: two workers on two queues, each task on the worker of its queue.

A stack of its own: Redis on loopback as broker and result store, the scheduler sending
tasks through Celery, two ``airflow celery worker`` processes taking one task at a time, each
from one queue and reporting its own name as hostname, as two machines would. As on machines
that share no disk, the notebooks go to S3 (moto's server on loopback), through an ``aws``
connection defined for the workers and the API server alike, and the API server's Notebook tab
shows them from there.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import nbformat
import pytest

from airflow_jupyter_provider.notebook_stamp import stamped_identity, task_instance_identity
from airflow_jupyter_provider.plugins import URL_PREFIX
from devtools.demo import airflow_settings
from devtools.stack import AirflowStack
from tests.e2e.helpers import DemoFolder
from tests.environments.helpers import S3Server
from tests.helpers import injected_parameters

pytestmark = pytest.mark.e2e

DAGS = Path(__file__).with_name("dags")
DAG_ID = "jupyter_conda_on_queues"
#: Worker name -> the one queue it listens on.
WORKERS = {"worker-north": "notebooks_north", "worker-south": "notebooks_south"}
#: The bucket the notebooks go to, through the connection NOTEBOOK_CONN_ID (the DAG's).
BUCKET = "celery-notebooks"
NOTEBOOK_CONN_ID = "notebook_store"


@pytest.fixture(scope="module")
def celery_stack(
    demo_folder: DemoFolder, s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AirflowStack]:
    s3_server.client.create_bucket(Bucket=BUCKET)
    store = {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {"endpoint_url": s3_server.endpoint, "region_name": "us-east-1"},
    }
    settings = {
        **airflow_settings(demo_folder.conda, demo_folder.path),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        f"AIRFLOW_CONN_{NOTEBOOK_CONN_ID.upper()}": json.dumps(store),
        "AIRFLOW_VAR_JUPYTER_NOTEBOOK_STORE": f"s3://{BUCKET}",
    }
    home = tmp_path_factory.mktemp("celery-stack")
    with AirflowStack(home, DAGS, settings, executor="CeleryExecutor") as stack:
        for name, queue in WORKERS.items():
            # Each group: a pool of the queue's name (worker_group) and a worker on the queue.
            stack.rest("POST", "/pools", json={"name": queue, "slots": 1})
            stack.start_celery_worker(name, [queue])
        stack.wait_for_dag(DAG_ID)
        yield stack


@pytest.fixture(scope="module")
def run_id(celery_stack: AirflowStack) -> str:
    """A run of the DAG, ended successfully."""
    run_id = celery_stack.trigger(DAG_ID)
    state = celery_stack.wait_for_run(DAG_ID, run_id, timeout=240)
    assert state == "success", celery_stack.describe_run(DAG_ID, run_id)
    return run_id


def test_each_notebook_task_runs_on_the_celery_worker_of_its_queue(
    celery_stack: AirflowStack, run_id: str
) -> None:
    ran = {
        ti["task_id"]: (ti["queue"], ti["pool"], ti["hostname"], ti["state"])
        for ti in celery_stack.task_instances(DAG_ID, run_id)
    }
    assert ran == {
        "forecast_north": ("notebooks_north", "notebooks_north", "worker-north", "success"),
        "forecast_south": ("notebooks_south", "notebooks_south", "worker-south", "success"),
    }


def test_each_region_notebook_is_in_s3_with_its_region_and_its_stamp(
    celery_stack: AirflowStack, s3_server: S3Server, demo_folder: DemoFolder, run_id: str, tmp_path: Path
) -> None:
    for region in ("north", "south"):
        task_id = f"forecast_{region}"
        key = f"{DAG_ID}/{run_id}/{task_id}.ipynb"
        notebook = tmp_path / f"{task_id}.ipynb"
        notebook.write_bytes(s3_server.client.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        assert injected_parameters(notebook)["region"] == region
        assert stamped_identity(nbformat.read(notebook, as_version=4)) == task_instance_identity(
            DAG_ID, run_id, task_id, -1
        )
        record = celery_stack.rest(
            "GET",
            f"/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/xcomEntries/notebook",
            params={"deserialize": True},
        )["value"]
        assert record == {"output_nb": f"s3://{BUCKET}/{key}", "conn_id": NOTEBOOK_CONN_ID}
    assert not (demo_folder.output / DAG_ID).exists()  # nothing went to the local disk


def test_notebook_tab_shows_each_region_notebook_from_s3(celery_stack: AirflowStack, run_id: str) -> None:
    """The tab's shell page and its inner view, through the API server, which reads S3.

    Needs the API server side of issue 15 (the tab rendering the recorded notebook on demand).
    """
    headers = {"Authorization": f"Bearer {celery_stack.token()}"}
    for region in ("north", "south"):
        ids = "/".join(quote(part, safe="") for part in (DAG_ID, run_id, f"forecast_{region}"))
        page = f"{celery_stack.base_url}{URL_PREFIX}/notebook/{ids}"
        shell = httpx.get(page, params={"map_index": -1}, headers=headers, timeout=60)
        assert shell.status_code == 200, shell.text[:2000]
        view = httpx.get(f"{page}/view", params={"map_index": -1}, headers=headers, timeout=60)
        assert view.status_code == 200, view.text[:2000]
        assert f"Demand forecast for region {region!r}" in html.unescape(view.text)

"""The operator on CeleryExecutor: two workers on two queues, each task on the worker of its queue.

A stack of its own: Redis on loopback as broker and result store, the scheduler sending
tasks through Celery, two ``airflow celery worker`` processes taking one task at a time, each
from one queue and reporting its own name as hostname, as two machines would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.demo import airflow_settings
from devtools.stack import AirflowStack
from tests.e2e.helpers import DemoFolder
from tests.helpers import injected_parameters

pytestmark = pytest.mark.e2e

DAGS = Path(__file__).with_name("dags")
DAG_ID = "jupyter_conda_on_queues"
#: Worker name -> the one queue it listens on.
WORKERS = {"worker-north": "notebooks_north", "worker-south": "notebooks_south"}


@pytest.fixture(scope="module")
def celery_stack(demo_folder: DemoFolder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowStack]:
    settings = {
        **airflow_settings(demo_folder.conda, demo_folder.path),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
    }
    home = tmp_path_factory.mktemp("celery-stack")
    with AirflowStack(home, DAGS, settings, executor="CeleryExecutor") as stack:
        for name, queue in WORKERS.items():
            # Each group: a pool of the queue's name (worker_group) and a worker on the queue.
            stack.rest("POST", "/pools", json={"name": queue, "slots": 1})
            stack.start_celery_worker(name, [queue])
        stack.wait_for_dag(DAG_ID)
        yield stack


def test_each_notebook_task_runs_on_the_celery_worker_of_its_queue(
    celery_stack: AirflowStack, demo_folder: DemoFolder
) -> None:
    run_id = celery_stack.trigger(DAG_ID)

    state = celery_stack.wait_for_run(DAG_ID, run_id, timeout=240)

    assert state == "success", celery_stack.describe_run(DAG_ID, run_id)
    ran = {
        ti["task_id"]: (ti["queue"], ti["pool"], ti["hostname"], ti["state"])
        for ti in celery_stack.task_instances(DAG_ID, run_id)
    }
    assert ran == {
        "forecast_north": ("notebooks_north", "notebooks_north", "worker-north", "success"),
        "forecast_south": ("notebooks_south", "notebooks_south", "worker-south", "success"),
    }
    for region in ("north", "south"):
        notebook = demo_folder.output / DAG_ID / run_id / f"forecast_{region}.ipynb"
        assert injected_parameters(notebook)["region"] == region

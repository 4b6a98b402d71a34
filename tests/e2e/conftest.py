"""Real Airflows (``devtools.stack``) serving the example DAGs and the tests' own.

``airflow_stack`` is one LocalExecutor stack for the whole session: API server, scheduler and
DAG processor over ``example_dags/``, configured as the demo configures them
(``devtools.demo.airflow_settings``) but around the session's conda installation, in
temporary folders. ``e2e_dags_stack`` is the same over ``tests/e2e/dags/``, with the
OpenLineage provider writing its events to the file ``openlineage_events`` (one JSON event a
line). Both are stopped at the end of the session, also when a test fails; the browser to use
them is ``browser`` (``tests/conftest.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.conda_layout import conda_root
from devtools.demo import ENV_NAME, EXAMPLE_DAGS, DemoConda, airflow_settings, example_dag_ids
from devtools.stack import AirflowStack
from tests.e2e.helpers import (
    E2E_DAGS,
    OPENLINEAGE_NAMESPACE,
    DemoFolder,
    e2e_dag_ids,
)
from tests.helpers import CondaInstall


@pytest.fixture(scope="session")
def demo_folder(
    conda_install: CondaInstall, packed_env: Path, tmp_path_factory: pytest.TempPathFactory
) -> DemoFolder:
    """The demo's folder with the session's environment as ``jupyter-demo`` and its archive.

    ``devtools.demo.prepare_conda`` finds both built, so ``JUPYTER_DEMO_DIR`` pointing here
    makes ``python -m devtools.stack`` build nothing.
    """
    path = tmp_path_factory.mktemp("demo")
    conda_sh = conda_root(path / "conda")
    (path / "conda" / "envs" / ENV_NAME).symlink_to(conda_install.prefix, target_is_directory=True)
    archive = path / f"{ENV_NAME}.tar.gz"
    archive.symlink_to(packed_env)
    return DemoFolder(path, DemoConda(conda_sh=conda_sh, archive=archive, real=False))


@pytest.fixture(scope="session")
def airflow_stack(
    demo_folder: DemoFolder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AirflowStack]:
    """A running LocalExecutor Airflow with the example DAGs parsed, logged in as its admin."""
    settings = airflow_settings(demo_folder.conda, demo_folder.path)
    with AirflowStack(tmp_path_factory.mktemp("airflow-stack"), EXAMPLE_DAGS, settings) as stack:
        for dag_id in example_dag_ids():
            stack.wait_for_dag(dag_id)
        yield stack


@pytest.fixture(scope="session")
def openlineage_events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The file ``e2e_dags_stack``'s OpenLineage events go to, one JSON event a line."""
    return tmp_path_factory.mktemp("openlineage") / "events.jsonl"


@pytest.fixture(scope="session")
def e2e_dags_stack(
    demo_folder: DemoFolder, openlineage_events: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AirflowStack]:
    """A running LocalExecutor Airflow over ``tests/e2e/dags`` with them parsed, logged in as its
    admin, reporting lineage to ``openlineage_events``.

    The OpenLineage provider is on once ``[openlineage] transport`` is set: its listener then
    emits each task's START and COMPLETE or FAIL events from the task's process (a fork of it),
    the scheduler the DAG runs' events, all appended to the one file.
    """
    transport = {"type": "file", "log_file_path": str(openlineage_events), "append": True}
    settings = {
        **airflow_settings(demo_folder.conda, demo_folder.path),
        "AIRFLOW__CORE__DAGS_FOLDER": str(E2E_DAGS),
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": OPENLINEAGE_NAMESPACE,
    }
    with AirflowStack(tmp_path_factory.mktemp("e2e-dags-stack"), E2E_DAGS, settings) as stack:
        for dag_id in e2e_dag_ids():
            stack.wait_for_dag(dag_id)
        yield stack

"""Real Airflows (``devtools.stack``) serving the example DAGs and the tests' own.

``airflow_stack`` is one LocalExecutor stack for the whole session: API server, scheduler and
DAG processor over ``example_dags/``, configured as the demo configures them
(``devtools.demo.airflow_settings``) but around the session's conda installation, in
temporary folders. ``e2e_dags_stack`` is the same over ``tests/e2e/dags/``, with the
OpenLineage provider writing its events to the file ``openlineage_events`` (one JSON event a
line). Both are given the worker's secrets of ``secret_settings`` (a connection, a Variable, a
fernet key). ``tenant_stack`` serves ``tests/e2e/tenant_dags/``, whose tasks run as the OS users
``tenant_users`` makes (``run_as_user``), and ``tenant_run`` is its one DAG run. All are stopped
at the end of the session, also when a test fails; the browser to use them is ``browser``
(``tests/conftest.py``).
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.conda_layout import conda_root
from devtools.demo import ENV_NAME, EXAMPLE_DAGS, DemoConda, airflow_settings, example_dag_ids
from devtools.stack import AirflowStack
from tests.e2e.helpers import (
    E2E_DAGS,
    NOTEBOOK_GROUP,
    OPENLINEAGE_NAMESPACE,
    TENANT_A,
    TENANT_B,
    TENANT_DAG_ID,
    TENANT_DAGS,
    VIEWER,
    DemoFolder,
    TenantRun,
    TenantStack,
    define_secrets,
    e2e_dag_ids,
    secret_settings,
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
        **secret_settings(),
    }
    with AirflowStack(tmp_path_factory.mktemp("e2e-dags-stack"), E2E_DAGS, settings) as stack:
        for dag_id in e2e_dag_ids():
            stack.wait_for_dag(dag_id)
        yield stack


def _exists(database: str, name: str) -> bool:
    try:
        (grp.getgrnam if database == "group" else pwd.getpwnam)(name)
    except KeyError:
        return False
    return True


@pytest.fixture(scope="session")
def tenant_users() -> Iterator[None]:
    """The OS users ``jc-tenant-a`` and ``jc-tenant-b`` (tenants: ``run_as_user``), and ``jc-viewer``
    in the group ``jc-notebooks`` (as the API server's user is), made if missing and removed with
    their homes at the end of the session. Skips the test when not root or without sudo."""
    if os.geteuid() != 0:
        pytest.skip("the tenant tests make OS users and run tasks as them through sudo: run them as root")
    if missing := [c for c in ("sudo", "useradd", "userdel", "groupadd") if shutil.which(c) is None]:
        pytest.skip(f"the tenant tests need {', '.join(missing)} (devtools/system_packages.sh installs sudo)")
    made_group = not _exists("group", NOTEBOOK_GROUP)
    made: list[str] = []
    try:
        if made_group:
            subprocess.run(["groupadd", NOTEBOOK_GROUP], check=True)
        for user, groups in ((TENANT_A, ""), (TENANT_B, ""), (VIEWER, NOTEBOOK_GROUP)):
            if not _exists("user", user):
                subprocess.run(["useradd", "-m", *(["-G", groups] if groups else []), user], check=True)
                made.append(user)
            elif groups:
                subprocess.run(["usermod", "-a", "-G", groups, user], check=True)
        members = grp.getgrnam(NOTEBOOK_GROUP).gr_mem
        assert TENANT_A not in members and TENANT_B not in members, f"tenants in {NOTEBOOK_GROUP}: {members}"
        yield
    finally:
        for user in made:
            subprocess.run(["userdel", "-r", user], check=False, capture_output=True)
        if made_group:
            subprocess.run(["groupdel", NOTEBOOK_GROUP], check=False, capture_output=True)


@pytest.fixture(scope="session")
def tenant_stack(tenant_users: None, conda_install: CondaInstall) -> Iterator[TenantStack]:
    """A running LocalExecutor Airflow over ``tests/e2e/tenant_dags``, with the worker's secrets of
    ``secret_settings``, the connection ``warehouse`` and the Variable ``api_token``.

    Laid out as the README's deployment: the base output folder is owned by root and the group
    ``jc-notebooks`` with the setgid bit, writable by all with the sticky bit (mode 3777), so the
    tenants may make their run folders in it and their files get its group. The tenants unpack
    packed environments into their own ``~/.cache`` (the session's cache folder is root's).

    Everything a tenant's task reaches lives in a folder of its own under the system's temporary
    folder, not under pytest's: pytest makes ``pytest-of-<user>`` private (mode 0700) whenever a
    session starts, so a concurrent session would lock the tenants out. The conda installation is
    laid out there around the session's environment, hard-linked (else copied) as
    ``jupyter-demo``: the provider runs the environment's own ``bin/python``, so no script's
    ``#!`` line, which names the session's prefix, matters.
    """
    root = Path(tempfile.mkdtemp(prefix="jupyter-conda-tenants-"))
    try:
        root.chmod(0o755)
        conda_sh = conda_root(root / "conda")
        env = root / "conda" / "envs" / ENV_NAME
        link = ["cp", "-al", str(conda_install.prefix), str(env)]
        linked = subprocess.run(link, check=False, capture_output=True)
        if linked.returncode != 0:  # pytest's folder on another file system (--basetemp): copy
            shutil.rmtree(env, ignore_errors=True)
            subprocess.run(["cp", "-a", str(conda_install.prefix), str(env)], check=True)
        output, probes = root / "notebooks", root / "probes"
        output.mkdir()
        os.chown(output, 0, grp.getgrnam(NOTEBOOK_GROUP).gr_gid)
        output.chmod(0o3777)
        probes.mkdir()
        probes.chmod(0o1777)
        connection = {"conn_type": "jupyter_conda", "extra": {"conda_path": str(conda_sh)}}
        settings = {
            "AIRFLOW__CORE__DAGS_FOLDER": str(TENANT_DAGS),
            "AIRFLOW_CONN_JUPYTER_CONDA_DEFAULT": json.dumps(connection),
            "AIRFLOW_VAR_JUPYTER_TENANT_OUTPUT_DIR": str(output),
            "AIRFLOW_VAR_JUPYTER_TENANT_PROBE_DIR": str(probes),
            **secret_settings(),
        }
        stack = AirflowStack(root / "airflow-home", TENANT_DAGS, settings)
        # The session's cache folder (tests/conftest.py) is root's: each tenant uses its ~/.cache.
        stack.env.pop("AIRFLOW__JUPYTER_CONDA__ENV_CACHE_DIR", None)
        with stack:
            define_secrets(stack)
            stack.wait_for_dag(TENANT_DAG_ID)
            yield TenantStack(stack, output, probes)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def tenant_run(tenant_stack: TenantStack) -> TenantRun:
    """One ended run of the tenant DAG (failed, as ``tenant_a_fails`` fails); each test checks the
    states of the tasks it reads."""
    stack = tenant_stack.stack
    run_id = stack.trigger(TENANT_DAG_ID)
    stack.wait_for_run(TENANT_DAG_ID, run_id, timeout=300)
    states = {ti["task_id"]: ti["state"] for ti in stack.task_instances(TENANT_DAG_ID, run_id)}
    return TenantRun(run_id, states, tenant_stack.output / TENANT_DAG_ID / run_id)

"""Tenants (``run_as_user``) sharing a worker and a run folder, on a real Airflow (LocalExecutor)
that runs each task as its tenant's OS user through ``sudo`` (``tenant_stack``).

One run of ``tenant_dags/jupyter_conda_tenants.py`` (``tenant_run``): ``tenant_a`` (as
``jc-tenant-a``) and ``tenant_b`` (as ``jc-tenant-b``) write their notebooks into the run's one
folder under the base output folder, laid out as the README's deployment (root's, group
``jc-notebooks``, setgid and sticky: mode 3777); ``tenant_a_fails`` fails in a cell. The user
``jc-viewer`` is in ``jc-notebooks``, as the API server's user is; the tenants are not.

Each tenant's notebook also walks its ancestor processes and, for each of its own user's,
tries to open ``/proc/<pid>/environ`` and ``/proc/<pid>/mem``; it writes what it found to a
file under the probes folder (its printed output is masked, which would hide what it read).
"""

from __future__ import annotations

import grp
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import (
    NOTEBOOK_GROUP,
    TENANT_A,
    TENANT_B,
    TENANT_DAG_ID,
    VIEWER,
    TenantRun,
    TenantStack,
    airflow_names,
    as_user,
    describe_run,
    found_secrets,
    stack_secrets,
    worker_secrets,
)

pytestmark = pytest.mark.e2e

#: An output notebook the provider writes under run_as_user: its group may read, others not.
NOTEBOOK_MODE = 0o640
#: An output folder the provider makes under run_as_user in a setgid parent: owner and group
#: rwx, others wx (they may add their own files, not list or read the folder), sticky, setgid.
FOLDER_MODE = 0o3773


def assert_succeeded(tenant_stack: TenantStack, tenant_run: TenantRun, *task_ids: str) -> None:
    for task_id in task_ids:
        assert tenant_run.states.get(task_id) == "success", (
            f"{task_id}: {tenant_run.states}\n"
            + describe_run(tenant_stack.stack, TENANT_DAG_ID, tenant_run.run_id)
        )


def mode_and_group(path: Path) -> tuple[str, str]:
    found = path.stat()
    return oct(stat.S_IMODE(found.st_mode)), grp.getgrgid(found.st_gid).gr_name


def is_task_process(cmdline: str) -> bool:
    """Whether the command line is the task process's: run as its tenant it is
    ``python -c "from airflow.sdk.execution_time.task_runner import main; main()"``, which the
    task runner renames (setproctitle) ``airflow worker -- <task instance id>``."""
    return "task_runner" in cmdline or cmdline.startswith("airflow worker --")


def probe(tenant_stack: TenantStack, task_id: str) -> dict[str, Any]:
    """What the tenant's notebook found about its ancestors (``tenant_probe.ipynb``)."""
    return json.loads((tenant_stack.probes / f"{task_id}.json").read_text())


def test_two_tenants_tasks_write_into_one_run_folder(
    tenant_stack: TenantStack, tenant_run: TenantRun
) -> None:
    assert_succeeded(tenant_stack, tenant_run, "tenant_a", "tenant_b")
    # The folders the tenants made: the DAG's and the run's, inheriting the base folder's group.
    for folder in (tenant_run.folder.parent, tenant_run.folder):
        assert folder.owner() in (TENANT_A, TENANT_B)
        assert mode_and_group(folder) == (oct(FOLDER_MODE), NOTEBOOK_GROUP), folder
    for task_id, user in (("tenant_a", TENANT_A), ("tenant_b", TENANT_B)):
        notebook = tenant_run.folder / f"{task_id}.ipynb"
        assert notebook.owner() == user
        assert mode_and_group(notebook) == (oct(NOTEBOOK_MODE), NOTEBOOK_GROUP), task_id
        assert json.loads(notebook.read_text())["cells"], task_id


def test_a_tenant_cannot_read_the_other_tenants_notebook_and_the_viewer_can(
    tenant_stack: TenantStack, tenant_run: TenantRun
) -> None:
    assert_succeeded(tenant_stack, tenant_run, "tenant_a", "tenant_b")
    for reader, task_id in ((TENANT_B, "tenant_a"), (TENANT_A, "tenant_b")):
        notebook = str(tenant_run.folder / f"{task_id}.ipynb")
        refused = as_user(reader, "cat", notebook)
        assert refused.returncode != 0 and "Permission denied" in refused.stderr, (reader, refused)
        assert refused.stdout == ""
        shown = as_user(VIEWER, "cat", notebook)
        assert shown.returncode == 0, shown
        assert json.loads(shown.stdout)["cells"]
    # The tenant that did not make the run folder may not list it to find what the other wrote.
    stranger = TENANT_B if tenant_run.folder.owner() == TENANT_A else TENANT_A
    listing = as_user(stranger, "ls", str(tenant_run.folder))
    assert listing.returncode != 0 and "Permission denied" in listing.stderr, (stranger, listing)
    listed = as_user(VIEWER, "ls", str(tenant_run.folder))
    assert listed.returncode == 0, listed
    assert {"tenant_a.ipynb", "tenant_b.ipynb"} <= set(listed.stdout.split())


@pytest.mark.parametrize("task_id", ["tenant_a", "tenant_b"])
def test_a_tenants_notebook_cannot_read_its_task_process(
    tenant_stack: TenantStack, tenant_run: TenantRun, task_id: str
) -> None:
    """The task process (non-dumpable) keeps its environment and memory from the notebook; the
    run's own processes (bash, papermill) that the notebook may read hold nothing of Airflow's.

    The run's processes do hold what the task gave the notebook through ``env`` (its secrets
    included): that is the notebook's by design; the worker's own secrets are not."""
    assert_succeeded(tenant_stack, tenant_run, task_id)
    found = probe(tenant_stack, task_id)
    own = [a for a in found["ancestors"] if a["uid"] == found["uid"]]
    described = json.dumps(
        [{k: v for k, v in a.items() if k not in ("environ", "mem")} for a in found["ancestors"]], indent=1
    )
    task_processes = [a for a in own if is_task_process(a["cmdline"])]
    assert len(task_processes) == 1, f"no task process among the notebook's ancestors:\n{described}"
    task_process = task_processes[0]
    assert task_process["environ"] is None, f"the notebook read the task process's environ:\n{described}"
    assert "Permission denied" in task_process["environ_error"], described
    assert task_process["mem"] is None, f"the notebook opened the task process's mem:\n{described}"
    assert "Permission denied" in task_process["mem_error"], described
    secrets = worker_secrets(tenant_stack.stack)
    for ancestor in own:
        if ancestor["environ"] is not None:
            names = [entry.split("=", 1)[0] for entry in ancestor["environ"].split("\0") if entry]
            assert airflow_names(names) == [], ancestor["cmdline"]
            assert found_secrets(ancestor["environ"], secrets) == [], ancestor["cmdline"]
    # Papermill's process, at least, is the notebook's own user's and readable: the probe works.
    assert any(a["environ"] is not None and "papermill" in a["cmdline"] for a in own), described


def test_a_failed_tenant_tasks_partial_notebook_is_the_tenants_and_its_groups_only(
    tenant_stack: TenantStack, tenant_run: TenantRun
) -> None:
    assert tenant_run.states.get("tenant_a_fails") == "failed", tenant_run.states
    notebook = tenant_run.folder / "tenant_a_fails.ipynb"
    assert notebook.owner() == TENANT_A
    assert mode_and_group(notebook) == (oct(NOTEBOOK_MODE), NOTEBOOK_GROUP)
    refused = as_user(TENANT_B, "cat", str(notebook))
    assert refused.returncode != 0 and "Permission denied" in refused.stderr, refused
    shown = as_user(VIEWER, "cat", str(notebook))
    assert shown.returncode == 0 and "tenant a fails on purpose" in shown.stdout, shown


def test_a_failed_tenant_tasks_partial_notebook_shows_its_secret_masked(
    tenant_stack: TenantStack, tenant_run: TenantRun
) -> None:
    assert tenant_run.states.get("tenant_a_fails") == "failed", tenant_run.states
    text = (tenant_run.folder / "tenant_a_fails.ipynb").read_text()
    assert "partial output of tenant a" in text
    assert found_secrets(text, stack_secrets(tenant_stack.stack)) == []
    assert "API_TOKEN=***" in text

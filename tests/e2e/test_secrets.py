"""A notebook gets only what its task gives it, and the secrets it is given stay masked wherever
a user looks: on a real Airflow (LocalExecutor) whose worker holds secrets of its own
(``secret_settings``: ``AIRFLOW_CONN_LEDGER``, ``AIRFLOW_VAR_SOMETHING``, the fernet key, besides
the database URL and the JWT secret every stack has) and reports lineage to a file
(``e2e_dags_stack``).

The DAG (``dags/jupyter_conda_secrets.py``) gives its notebook, through ``env``, the URI of the
connection ``warehouse`` (made through the REST API, in the metadata database), the password of
the worker's connection ``ledger``, the Variable ``api_token`` (a sensitive name) and a plain
value; the notebook prints the names of its environment variables, then each with its value.
``to_local`` writes its notebook to the local disk, ``to_s3`` to S3 (moto's server, the bucket
versioned so every upload of the notebook during the run is kept). The same notebook also runs
as a tenant (``run_as_user``, ``tenant_a`` of ``tenant_run``).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from airflow_jupyter_provider.plugins import URL_PREFIX
from devtools.stack import AirflowStack
from tests.e2e.helpers import (
    PLAIN_VALUE,
    TENANT_DAG_ID,
    DemoFolder,
    TenantRun,
    TenantStack,
    airflow_names,
    cell_outputs,
    define_secrets,
    describe_run,
    found_secrets,
    lineage_task_events,
    log_text,
    printed_names,
    printed_value,
    stack_secrets,
    task_log_events,
)
from tests.environments.helpers import S3Server
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

DAG_ID = "jupyter_conda_secrets"
TASKS = ("to_local", "to_s3")
BUCKET = "secrets-notebooks"
STORE_CONN_ID = "secrets_store"
#: What the notebook is given through env, by name; these and only these it must print.
ENV_NAMES = {"WAREHOUSE_URL", "LEDGER_PASSWORD", "API_TOKEN", "PLAIN"}
#: The start of the warehouse connection's URI, up to its password: the ``env`` value a
#: lineage consumer must not see either.
WAREHOUSE_URI_START = "postgres://analyst:"
#: Seconds the OpenLineage events may take to reach the file once the run has ended.
EVENTS_TIMEOUT = 60


@pytest.fixture(scope="module")
def secrets_run(e2e_dags_stack: AirflowStack, s3_server: S3Server) -> str:
    """A run of the DAG, ended, after the connections and Variables it reads were made."""
    stack = e2e_dags_stack
    s3_server.client.create_bucket(Bucket=BUCKET)
    s3_server.client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    store = {
        "connection_id": STORE_CONN_ID,
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": json.dumps({"endpoint_url": s3_server.endpoint, "region_name": "us-east-1"}),
    }
    stack.rest("POST", "/connections", json=store)
    stack.rest("POST", "/variables", json={"key": "jupyter_secrets_bucket", "value": BUCKET})
    define_secrets(stack)
    run_id = stack.trigger(DAG_ID)
    stack.wait_for_run(DAG_ID, run_id, timeout=240)
    return run_id


def assert_succeeded(stack: AirflowStack, dag_id: str, run_id: str, *task_ids: str) -> None:
    states = {ti["task_id"]: ti["state"] for ti in stack.task_instances(dag_id, run_id)}
    for task_id in task_ids:
        assert states.get(task_id) == "success", f"{task_id}: {states}\n" + describe_run(
            stack, dag_id, run_id
        )


def s3_key(run_id: str, task_id: str) -> str:
    return f"{DAG_ID}/{run_id}/{task_id}.ipynb"


def saved_notebook(demo_folder: DemoFolder, s3_server: S3Server, run_id: str, task_id: str) -> str:
    """The task's output notebook as saved at the end of the run (the last upload, for S3)."""
    if task_id == "to_local":
        return (demo_folder.output / DAG_ID / run_id / "to_local.ipynb").read_text()
    return s3_server.client.get_object(Bucket=BUCKET, Key=s3_key(run_id, task_id))["Body"].read().decode()


def assert_masked_where_printed(text: str, where: str) -> None:
    """``text`` (a log, a notebook's outputs, a page) shows each secret the notebook printed as
    ``***``, and the plain value as it is."""
    for name in ("API_TOKEN", "LEDGER_PASSWORD"):
        assert printed_value(text, name) and set(printed_value(text, name)) == {"***"}, (where, name, text)
    urls = printed_value(text, "WAREHOUSE_URL")
    assert urls and all("***" in url and "@warehouse.internal:5432/sales" in url for url in urls), (
        where,
        urls,
    )
    assert PLAIN_VALUE in printed_value(text, "PLAIN"), (where, text)


def assert_gets_env_and_nothing_of_airflows(notebook_text: str, where: str) -> None:
    names = printed_names(json.loads(notebook_text))
    assert airflow_names(names) == [], where
    assert ENV_NAMES | {"AIRFLOW_CTX_DAG_ID"} <= set(names), (where, names)


@pytest.mark.parametrize("task_id", TASKS)
def test_the_notebook_gets_its_env_and_none_of_airflows_variables(
    e2e_dags_stack: AirflowStack, demo_folder: DemoFolder, s3_server: S3Server, secrets_run: str, task_id: str
) -> None:
    assert_succeeded(e2e_dags_stack, DAG_ID, secrets_run, task_id)
    notebook = saved_notebook(demo_folder, s3_server, secrets_run, task_id)
    assert_gets_env_and_nothing_of_airflows(notebook, task_id)


@pytest.mark.parametrize("task_id", TASKS)
def test_the_task_log_shows_the_secrets_the_notebook_printed_masked(
    e2e_dags_stack: AirflowStack, secrets_run: str, task_id: str
) -> None:
    assert_succeeded(e2e_dags_stack, DAG_ID, secrets_run, task_id)
    events = task_log_events(e2e_dags_stack, DAG_ID, secrets_run, task_id)
    assert found_secrets(json.dumps(events), stack_secrets(e2e_dags_stack)) == []
    assert_masked_where_printed(log_text(events), f"log of {task_id}")


def test_the_local_output_notebook_holds_no_secret(
    e2e_dags_stack: AirflowStack, demo_folder: DemoFolder, s3_server: S3Server, secrets_run: str
) -> None:
    assert_succeeded(e2e_dags_stack, DAG_ID, secrets_run, "to_local")
    notebook = saved_notebook(demo_folder, s3_server, secrets_run, "to_local")
    assert found_secrets(notebook, stack_secrets(e2e_dags_stack)) == []
    assert_masked_where_printed("\n".join(cell_outputs(json.loads(notebook))), "to_local.ipynb")


def test_every_upload_of_the_s3_output_notebook_holds_no_secret(
    e2e_dags_stack: AirflowStack, s3_server: S3Server, secrets_run: str
) -> None:
    """The bucket keeps each version the worker uploaded as the notebook ran, not only the last."""
    assert_succeeded(e2e_dags_stack, DAG_ID, secrets_run, "to_s3")
    key = s3_key(secrets_run, "to_s3")
    versions = s3_server.client.list_object_versions(Bucket=BUCKET, Prefix=key).get("Versions", [])
    assert versions, f"no upload of {key}"
    secrets = stack_secrets(e2e_dags_stack)
    for version in versions:
        body = s3_server.client.get_object(Bucket=BUCKET, Key=key, VersionId=version["VersionId"])["Body"]
        assert found_secrets(body.read().decode(), secrets) == [], version
    final = s3_server.client.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    assert_masked_where_printed("\n".join(cell_outputs(json.loads(final))), f"s3://{BUCKET}/{key}")


@pytest.mark.parametrize("task_id", TASKS)
def test_the_notebook_tab_shows_no_secret(
    e2e_dags_stack: AirflowStack, secrets_run: str, task_id: str
) -> None:
    assert_succeeded(e2e_dags_stack, DAG_ID, secrets_run, task_id)
    ids = "/".join(quote(part, safe="") for part in (DAG_ID, secrets_run, task_id))
    view = httpx.get(
        f"{e2e_dags_stack.base_url}{URL_PREFIX}/notebook/{ids}/view",
        params={"map_index": -1},
        headers={"Authorization": f"Bearer {e2e_dags_stack.token()}"},
        timeout=60,
    )
    assert view.status_code == 200, view.text[:2000]
    page = html.unescape(view.text)
    assert found_secrets(page, stack_secrets(e2e_dags_stack)) == []
    assert "API_TOKEN=***" in page
    assert f"PLAIN={PLAIN_VALUE}" in page


@pytest.mark.parametrize("task_id", TASKS)
def test_the_rendered_env_is_masked(e2e_dags_stack: AirflowStack, secrets_run: str, task_id: str) -> None:
    """What the UI's Rendered Templates view shows (the REST API's ``rendered_fields``)."""
    assert_succeeded(e2e_dags_stack, DAG_ID, secrets_run, task_id)
    ti = e2e_dags_stack.rest(
        "GET", f"/dags/{DAG_ID}/dagRuns/{quote(secrets_run, safe='')}/taskInstances/{task_id}"
    )
    env = ti["rendered_fields"]["env"]
    assert set(env) == ENV_NAMES, env
    assert env["API_TOKEN"] == env["LEDGER_PASSWORD"] == "***", env
    assert "***" in env["WAREHOUSE_URL"] and "warehouse.internal" in env["WAREHOUSE_URL"], env
    assert env["PLAIN"] == PLAIN_VALUE
    assert found_secrets(json.dumps(ti), stack_secrets(e2e_dags_stack)) == []


def test_the_lineage_events_hold_no_secret_and_no_env_value(
    e2e_dags_stack: AirflowStack, openlineage_events: Path, secrets_run: str
) -> None:
    assert_succeeded(e2e_dags_stack, DAG_ID, secrets_run, *TASKS)
    expected = {(task_id, event_type) for task_id in TASKS for event_type in ("START", "COMPLETE")}
    arrived = wait_for(
        lambda: expected <= lineage_task_events(openlineage_events, DAG_ID, secrets_run).keys(),
        timeout=EVENTS_TIMEOUT,
    )
    found = lineage_task_events(openlineage_events, DAG_ID, secrets_run)
    assert arrived, f"task events of run {secrets_run}: {sorted(found)}, expected {sorted(expected)}"
    text = json.dumps(list(found.values()))
    assert found_secrets(text, stack_secrets(e2e_dags_stack)) == []
    assert PLAIN_VALUE not in text
    assert WAREHOUSE_URI_START not in text


def test_a_tenants_notebook_gets_its_env_and_the_secrets_stay_masked(
    tenant_stack: TenantStack, tenant_run: TenantRun
) -> None:
    """The same notebook, given the same env, run as the tenant ``jc-tenant-a`` (``run_as_user``)."""
    stack = tenant_stack.stack
    assert_succeeded(stack, TENANT_DAG_ID, tenant_run.run_id, "tenant_a")
    notebook = (tenant_run.folder / "tenant_a.ipynb").read_text()
    assert_gets_env_and_nothing_of_airflows(notebook, "tenant_a.ipynb")
    secrets = stack_secrets(stack)
    assert found_secrets(notebook, secrets) == []
    assert_masked_where_printed("\n".join(cell_outputs(json.loads(notebook))), "tenant_a.ipynb")
    events = task_log_events(stack, TENANT_DAG_ID, tenant_run.run_id, "tenant_a")
    assert found_secrets(json.dumps(events), secrets) == []
    assert_masked_where_printed(log_text(events), "log of tenant_a")

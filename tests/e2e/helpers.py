"""What the end-to-end tests share: the demo folder, the browser's login and screenshots, the
secrets stacks are given, the tenants' OS users."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from devtools.demo import DemoConda
from devtools.stack import AirflowStack
from tests.helpers import REPO, UI_TIMEOUT

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
#: The end-to-end tests' own DAGs, one DAG per file, named after the file.
E2E_DAGS = Path(__file__).with_name("dags")
#: The namespace of the jobs (DAGs and tasks) in ``e2e_dags_stack``'s OpenLineage events.
OPENLINEAGE_NAMESPACE = "airflow-jupyter-provider-e2e"
#: The DAGs of ``tenant_stack``, whose tasks run as the tenants' OS users.
TENANT_DAGS = Path(__file__).with_name("tenant_dags")

# -- secrets (issue 20) ---------------------------------------------------------------------
#: The password of the connection ``warehouse`` (made in the metadata database, REST API).
WAREHOUSE_PASSWORD = "Wh-s3cret-4711"
#: The password of the connection ``ledger`` (the worker's variable ``AIRFLOW_CONN_LEDGER``).
LEDGER_PASSWORD = "Ldg-s3cret-0815"
#: The value of the Variable ``api_token`` (a sensitive name; made through the REST API).
API_TOKEN = "tok-5ecret-9f2c1e"
#: The value of the worker's ``AIRFLOW_VAR_SOMETHING``: Airflow's, a notebook never sees it.
SOMETHING_VALUE = "worker-only-something-7301"
#: The fernet key the stacks encrypt connections with (``AIRFLOW__CORE__FERNET_KEY``).
FERNET_KEY = "P8ZkXcEHsUeYq5o0m8jwz3l2W9Xv7n1d6gTt4bRy0aI="
#: An ``env`` value with no sensitive name: the log and the notebook show it as it is.
PLAIN_VALUE = "plain-visible-value"


def secret_settings() -> dict[str, str]:
    """The worker's secrets a stack is given as environment variables: a connection, a Variable
    and a fernet key (the database URL and the JWT secret every stack has)."""
    ledger = {"conn_type": "generic", "host": "ledger.internal", "login": "ledger"}
    ledger["password"] = LEDGER_PASSWORD
    return {
        "AIRFLOW_CONN_LEDGER": json.dumps(ledger),
        "AIRFLOW_VAR_SOMETHING": SOMETHING_VALUE,
        "AIRFLOW__CORE__FERNET_KEY": FERNET_KEY,
    }


def define_secrets(stack: AirflowStack) -> None:
    """The connection ``warehouse`` and the Variable ``api_token``, made through the REST API as
    a user makes them (in the metadata database, encrypted with the fernet key); already there
    is fine."""
    warehouse = {
        "connection_id": "warehouse",
        "conn_type": "postgres",
        "host": "warehouse.internal",
        "port": 5432,
        "login": "analyst",
        "password": WAREHOUSE_PASSWORD,
        "schema": "sales",
    }
    for path, body in (("/connections", warehouse), ("/variables", {"key": "api_token", "value": API_TOKEN})):
        response = stack.request("POST", path, json=body)
        assert response.status_code in (201, 409), f"POST {path}: {response.status_code} {response.text}"


def stack_secrets(stack: AirflowStack) -> dict[str, str]:
    """What must never show in clear text: the secrets given to notebooks through ``env`` and the
    worker's own (its configuration's keys), by a name for the assertions' messages."""
    return {
        "warehouse password": WAREHOUSE_PASSWORD,
        "ledger password": LEDGER_PASSWORD,
        "api_token": API_TOKEN,
        **worker_secrets(stack),
    }


def worker_secrets(stack: AirflowStack) -> dict[str, str]:
    """The worker's secrets no notebook is given, not even through ``env``: its configuration's
    keys, and the Variable only the worker's environment has."""
    return {
        "fernet key": stack.env["AIRFLOW__CORE__FERNET_KEY"],
        "JWT secret": stack.env["AIRFLOW__API_AUTH__JWT_SECRET"],
        "API secret key": stack.env["AIRFLOW__API__SECRET_KEY"],
        "AIRFLOW_VAR_SOMETHING": SOMETHING_VALUE,
    }


def found_secrets(text: str, secrets: dict[str, str]) -> list[str]:
    """The names of the secrets ``text`` holds in clear text."""
    return [name for name, value in secrets.items() if value in text]


#: Name prefixes of the worker's variables that are Airflow's: a notebook gets none of them.
AIRFLOW_PREFIXES = ("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_", "_AIRFLOW_", "__AIRFLOW_")


def airflow_names(names: list[str]) -> list[str]:
    """The names among ``names`` that are Airflow's (``AIRFLOW_CTX_*`` is the task's, not one)."""
    return [name for name in names if name.startswith(AIRFLOW_PREFIXES)]


def cell_outputs(notebook: dict[str, Any]) -> list[str]:
    """The text each code cell of an executed notebook printed (its stream outputs), in order."""
    return [
        "".join(
            "".join(output["text"]) if isinstance(output["text"], list) else output["text"]
            for output in cell.get("outputs", [])
            if output.get("output_type") == "stream"
        )
        for cell in notebook["cells"]
        if cell["cell_type"] == "code"
    ]


def printed_names(notebook: dict[str, Any]) -> list[str]:
    """The environment variable names ``print_env.ipynb`` (or ``tenant_probe.ipynb``) printed."""
    for text in cell_outputs(notebook):
        for line in text.splitlines():
            if line.startswith("ENV_NAMES "):
                return json.loads(line.removeprefix("ENV_NAMES "))
    raise AssertionError(f"no ENV_NAMES line in the notebook's outputs: {cell_outputs(notebook)}")


def printed_value(text: str, name: str) -> list[str]:
    """What follows ``NAME=`` on each line of ``text`` (a log, a cell's output) that prints it."""
    marker = f"{name}="
    return [line.split(marker, 1)[1].strip() for line in text.splitlines() if marker in line]


# -- tenants (run_as_user) --------------------------------------------------------------------
TENANT_A = "jc-tenant-a"
TENANT_B = "jc-tenant-b"
#: A user in NOTEBOOK_GROUP, as the API server's user is: it may read every tenant's notebooks.
VIEWER = "jc-viewer"
#: The group of the base output folder; the tenants are not in it.
NOTEBOOK_GROUP = "jc-notebooks"

#: The tenant DAG (``tests/e2e/tenant_dags/jupyter_conda_tenants.py``).
TENANT_DAG_ID = "jupyter_conda_tenants"


@dataclass(frozen=True)
class TenantStack:
    stack: AirflowStack
    #: the base output folder: root's, of the group NOTEBOOK_GROUP, mode 3777 (setgid, sticky)
    output: Path
    #: where the tenants' probe notebooks write what they found (mode 1777)
    probes: Path


@dataclass(frozen=True)
class TenantRun:
    run_id: str
    #: task id -> its state at the end of the run
    states: dict[str, str]
    #: the run's folder under the base output folder
    folder: Path


def as_user(user: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """``argv`` run as ``user`` through sudo, its output captured; whatever its status."""
    return subprocess.run(["sudo", "-u", user, "--", *argv], capture_output=True, text=True, check=False)


def task_log_events(
    stack: AirflowStack, dag_id: str, run_id: str, task_id: str, try_number: int = 1
) -> list[dict]:
    """A task's log as the REST API serves it to the UI: its events (``event``: the line's text,
    ``timestamp``, ``level`` and the logger's other fields). This Airflow serves logs as JSON only."""
    path = f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/logs/{try_number}"
    body = stack.rest("GET", path, params={"full_content": True}, headers={"Accept": "application/json"})
    return [event for event in body["content"] if isinstance(event, dict)]


def log_text(events: list[dict]) -> str:
    """A log's events as the UI shows them: one line each, the event's text, then any error."""
    return "\n".join(
        f"{event.get('timestamp', '')} {event.get('level', '')} {event.get('event', '')}"
        + (f" {json.dumps(event['error_detail'])}" if event.get("error_detail") else "")
        for event in events
    )


def describe_run(stack: AirflowStack, dag_id: str, run_id: str) -> str:
    """Each task instance's state and log: what to show when a run did not do what was expected."""
    return "\n".join(
        f"----- {ti['task_id']} ({ti['state']}, try {ti['try_number']}):\n"
        + log_text(task_log_events(stack, dag_id, run_id, ti["task_id"], max(ti["try_number"], 1)))
        for ti in stack.task_instances(dag_id, run_id)
    )


def lineage_task_events(path: Path, dag_id: str, run_id: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The OpenLineage task events of the run ``run_id`` of ``dag_id`` in the file ``path`` (one
    JSON event a line, a line still being written left out), by (task id, event type)."""
    text = path.read_text() if path.exists() else ""
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for line in text[: text.rfind("\n") + 1].splitlines():
        if not line.strip():
            continue
        event = json.loads(line)
        dag_run = event["run"]["facets"].get("airflow", {}).get("dagRun", {})
        event_dag, _, task_id = event["job"]["name"].partition(".")
        if event_dag == dag_id and task_id and dag_run.get("run_id") == run_id:
            found.setdefault((task_id, event["eventType"]), []).append(event)
    return found


@dataclass(frozen=True)
class DemoFolder:
    """A folder laid out as ``devtools.demo`` lays out ``.demo/``, around the session's environment."""

    path: Path
    conda: DemoConda

    @property
    def output(self) -> Path:
        """Where the example DAGs write their notebooks (the Variable jupyter_demo_output_dir)."""
        return self.path / "output"


def e2e_dag_ids() -> list[str]:
    """The ids of the DAGs in ``E2E_DAGS``."""
    return sorted(path.stem for path in E2E_DAGS.glob("*.py") if not path.name.startswith("_"))


def ui_login(browser: WebDriver, stack: AirflowStack) -> None:
    """Log in through the stack's real login page, as a person does; return once the UI shows.

    Starts from a clean session: the browser is shared by the session's tests.
    """
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    browser.delete_all_cookies()
    browser.get(f"{stack.base_url}/auth/login")
    wait = WebDriverWait(browser, UI_TIMEOUT)
    wait.until(expected_conditions.visibility_of_element_located((By.NAME, "username"))).send_keys(
        stack.username
    )
    browser.find_element(By.NAME, "password").send_keys(stack.password)
    wait.until(expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, "button[type=submit]"))).click()
    wait.until(lambda driver: "/auth/" not in driver.current_url)


def screenshot(browser: WebDriver, name: str) -> Path:
    """Save what the browser shows as ``test-artifacts/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    browser.save_screenshot(str(path))
    return path


def notebook_text(browser: WebDriver) -> str:
    """From within the Notebook tab's page: the text of the notebook it shows now (the tab swaps
    its frames when a new version has loaded, so the frame is looked up each time)."""
    from selenium.webdriver.common.by import By

    browser.switch_to.frame(browser.find_element(By.CSS_SELECTOR, "iframe.front"))
    try:
        return browser.find_element(By.TAG_NAME, "body").text
    finally:
        browser.switch_to.parent_frame()


def wait_for_notebook_text(browser: WebDriver, text: str, timeout: float = UI_TIMEOUT) -> str:
    """The text of the notebook the tab shows, once it holds ``text``."""
    from selenium.common.exceptions import NoSuchFrameException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(
        browser, timeout, ignored_exceptions=(NoSuchFrameException, StaleElementReferenceException)
    )

    def shown(driver: WebDriver) -> str | bool:
        return text in (found := notebook_text(driver)) and found

    return wait.until(shown)

"""The Notebook tab's route on the real API server app: who may see a rendered notebook, and that
only the file a task instance of that DAG recorded is ever served."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from airflow_jupyter_provider.plugins import URL_PREFIX
from tests.plugins.helpers import NotebookRuns

pytestmark = pytest.mark.e2e

RECORDS = "notebook_view_records"
NO_NOTEBOOK = "No rendered notebook is recorded for this task instance."


def notebook_url(dag_id: str, run_id: str, task_id: str, map_index: str = "{MAP_INDEX}") -> str:
    """The URL the UI's iframe asks for: the tab's href with the page's ids filled in as the UI does."""
    ids = "/".join(quote(part, safe="") for part in (dag_id, run_id, task_id))
    return f"{URL_PREFIX}/notebook/{ids}?map_index={quote(map_index, safe='{}')}"


@pytest.fixture
def viewer(api_client, token) -> dict[str, str]:
    return {"Authorization": f"Bearer {token('viewer')}"}


def test_a_viewer_sees_the_rendered_notebook(api_client, viewer, notebook_runs: NotebookRuns) -> None:
    response = api_client.get(notebook_url(RECORDS, notebook_runs.records_run_id, "rendered"), headers=viewer)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    recorded = notebook_runs.output / RECORDS / notebook_runs.records_run_id / "rendered--1.html"
    assert response.text == recorded.read_text()
    assert "forecast for north: 7 days" in response.text


def test_the_ui_session_cookie_is_enough(api_client, token, notebook_runs: NotebookRuns) -> None:
    """The UI's iframe sends no Authorization header, only the ``_token`` cookie of the login."""
    url = notebook_url(RECORDS, notebook_runs.records_run_id, "rendered")
    response = api_client.get(url, cookies={"_token": token("viewer")})
    assert response.status_code == 200
    assert "forecast for north: 7 days" in response.text


def test_the_notebook_runs_sandboxed_apart_from_the_ui(api_client, viewer, notebook_runs) -> None:
    """Its scripts get an origin of their own: no access to the UI's session, no requests out."""
    response = api_client.get(notebook_url(RECORDS, notebook_runs.records_run_id, "rendered"), headers=viewer)
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response.headers["content-security-policy"].split(";")
    )
    assert policy["sandbox"].split() == ["allow-scripts", "allow-popups", "allow-popups-to-escape-sandbox"]
    assert policy["default-src"] == "'none'"
    assert policy["frame-ancestors"] == "'self'"
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("map_index", ["0", "1"])
def test_each_mapped_task_instance_has_its_own_notebook(api_client, viewer, notebook_runs, map_index) -> None:
    url = notebook_url(RECORDS, notebook_runs.records_run_id, "part", map_index)
    response = api_client.get(url, headers=viewer)
    assert response.status_code == 200
    assert f"output of part {map_index}" in response.text


@pytest.mark.parametrize(
    "headers, status",
    [
        ({}, 401),
        ({"Authorization": "Bearer not-a-token"}, 403),
        ("no role", 403),
    ],
    ids=["no credentials", "forged token", "user without access to the DAG"],
)
def test_who_may_not_see_it(api_client, token, notebook_runs, headers, status) -> None:
    if headers == "no role":
        headers = {"Authorization": f"Bearer {token(None)}"}
    response = api_client.get(
        notebook_url(RECORDS, notebook_runs.records_run_id, "rendered"), headers=headers
    )
    assert response.status_code == status
    assert "forecast" not in response.text


def test_without_access_a_missing_notebook_is_no_different(api_client, notebook_runs) -> None:
    """Not even whether a DAG exists is told to a caller who is not signed in."""
    assert api_client.get(notebook_url("no_such_dag", "no_run", "no_task")).status_code == 401


NOT_SERVED = {
    # Path traversal in every part of the URL; the ids are never used as paths, so no file is reached.
    "run id traversal": (RECORDS, "../../../../etc/passwd", "rendered", "{MAP_INDEX}"),
    "task id traversal": (RECORDS, "{run}", "..%2F..%2F..%2Fetc%2Fpasswd", "{MAP_INDEX}"),
    "dag id traversal": ("..", "{run}", "rendered", "{MAP_INDEX}"),
    "map index traversal": (RECORDS, "{run}", "rendered", "../../etc/passwd"),
    # Records of another DAG are not reachable through this one.
    "run of another DAG": (RECORDS, "{other_run}", "secret", "{MAP_INDEX}"),
    "task of another DAG": (RECORDS, "{run}", "secret", "{MAP_INDEX}"),
    "unknown run": (RECORDS, "manual__2000-01-01T00:00:00+00:00", "rendered", "{MAP_INDEX}"),
    "unknown DAG": ("no_such_dag", "{run}", "rendered", "{MAP_INDEX}"),
    "unknown task": (RECORDS, "{run}", "no_such_task", "{MAP_INDEX}"),
    "unmapped index of a mapped task": (RECORDS, "{run}", "part", "{MAP_INDEX}"),
    "map index out of range": (RECORDS, "{run}", "part", "2"),
    "map index not a number": (RECORDS, "{run}", "part", "1.0"),
    # Records that are no rendered notebook (forged through the XCom API, or stale).
    "recorded file is gone": (RECORDS, "{run}", "vanished", "{MAP_INDEX}"),
    "recorded file is no HTML": (RECORDS, "{run}", "elsewhere", "{MAP_INDEX}"),
    "recorded .html symlink to a file that is no HTML": (RECORDS, "{run}", "linked", "{MAP_INDEX}"),
    "recorded relative path": (RECORDS, "{run}", "relative", "{MAP_INDEX}"),
    "recorded notebook of another task instance": (RECORDS, "{run}", "borrowed", "{MAP_INDEX}"),
    "recorded HTML that no run rendered": (RECORDS, "{run}", "unstamped", "{MAP_INDEX}"),
    "nothing recorded": (RECORDS, "{run}", "no_record", "{MAP_INDEX}"),
}


@pytest.mark.parametrize("request_ids", NOT_SERVED.values(), ids=NOT_SERVED.keys())
def test_anything_but_a_recorded_notebook_is_the_same_404(
    api_client, viewer, notebook_runs, request_ids
) -> None:
    runs = {"{run}": notebook_runs.records_run_id, "{other_run}": notebook_runs.other_run_id}
    dag_id, run_id, task_id, map_index = (runs.get(part, part) for part in request_ids)

    response = api_client.get(notebook_url(dag_id, run_id, task_id, map_index), headers=viewer)

    assert response.status_code == 404
    assert "root:" not in response.text
    assert "output of" not in response.text
    assert "forecast for north" not in response.text


@pytest.mark.parametrize("task_id", ["vanished", "elsewhere", "no_record"])
def test_the_404_page_says_what_is_missing(api_client, viewer, notebook_runs, task_id) -> None:
    """The tab shows on every task instance page: one without a notebook gets a short page, no hints."""
    response = api_client.get(notebook_url(RECORDS, notebook_runs.records_run_id, task_id), headers=viewer)
    assert response.status_code == 404
    assert NO_NOTEBOOK in response.text
    assert "/etc/passwd" not in response.text
    assert "sandbox allow-scripts" in response.headers["content-security-policy"]

"""The Notebook tab's routes on the real API server app: who may see a task instance's notebook,
that only the notebook a task instance of that DAG recorded and stamped is ever rendered, and
that the tab follows a running notebook."""

from __future__ import annotations

import re

import nbformat
import pytest

from airflow_jupyter_provider.notebook_stamp import stamped_identity, task_instance_identity
from airflow_jupyter_provider.plugins import rendered
from airflow_jupyter_provider.plugins.sized_lru import SizedLru
from tests.plugins.helpers import RECORDS, NotebookRuns, notebook_url, papermill_save

pytestmark = pytest.mark.e2e

NO_NOTEBOOK = "No notebook is recorded for this task instance."
ROUTES = {"tab": "", "view": "/view", "status": "/status", "download": "/download"}
#: The routes that answer with a notebook, or the 404 page.
PAGES = {"tab": "", "view": "/view", "download": "/download"}


def csp(response) -> dict[str, str]:
    return dict(
        directive.strip().split(" ", 1)
        for directive in response.headers["content-security-policy"].split(";")
    )


@pytest.fixture
def viewer(api_client, token) -> dict[str, str]:
    return {"Authorization": f"Bearer {token('viewer')}"}


def test_the_tab_is_a_page_of_its_own_that_frames_the_notebook(api_client, viewer, notebook_runs) -> None:
    """It holds no notebook content; only its own script runs, and it talks only to this app."""
    response = api_client.get(notebook_url(RECORDS, notebook_runs.records_run_id, "rendered"), headers=viewer)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "forecast" not in response.text
    assert 'sandbox="allow-scripts allow-popups allow-popups-to-escape-sandbox"' in response.text
    policy = csp(response)
    assert policy["default-src"] == "'none'"
    assert policy["script-src"].startswith("'sha256-") and " " not in policy["script-src"]
    assert policy["connect-src"] == policy["frame-src"] == policy["frame-ancestors"] == "'self'"


def test_a_viewer_sees_the_rendered_notebook(api_client, viewer, notebook_runs: NotebookRuns) -> None:
    url = notebook_url(RECORDS, notebook_runs.records_run_id, "rendered", route="/view")
    response = api_client.get(url, headers=viewer)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "forecast for north: 7 days" in response.text
    assert "<title>rendered--1</title>" in response.text


def test_the_status_of_a_finished_task_instance(api_client, viewer, notebook_runs: NotebookRuns) -> None:
    url = notebook_url(RECORDS, notebook_runs.records_run_id, "rendered", route="/status")
    status = api_client.get(url, headers=viewer).json()

    assert status["state"] == "success"
    assert status["finished"] is True
    assert status["line"] == "Finished: success"
    assert len(status["version"]) == 16


@pytest.mark.parametrize("route", PAGES.values(), ids=PAGES.keys())
def test_the_ui_session_cookie_is_enough(api_client, token, notebook_runs: NotebookRuns, route) -> None:
    """The UI's iframe sends no Authorization header, only the ``_token`` cookie of the login."""
    url = notebook_url(RECORDS, notebook_runs.records_run_id, "rendered", route=route)
    response = api_client.get(url, cookies={"_token": token("viewer")})
    assert response.status_code == 200


def test_the_notebook_runs_sandboxed_apart_from_the_ui(api_client, viewer, notebook_runs) -> None:
    """Its scripts get an origin of their own: no access to the UI's session, no requests out."""
    url = notebook_url(RECORDS, notebook_runs.records_run_id, "rendered", route="/view")
    policy = csp(api_client.get(url, headers=viewer))
    assert policy["sandbox"].split() == ["allow-scripts", "allow-popups", "allow-popups-to-escape-sandbox"]
    assert policy["default-src"] == "'none'"
    assert policy["frame-ancestors"] == "'self'"
    assert "connect-src" not in policy


def test_a_viewer_downloads_the_executed_notebook_as_it_is_stamped_and_all(
    api_client, viewer, notebook_runs: NotebookRuns
) -> None:
    url = notebook_url(RECORDS, notebook_runs.records_run_id, "rendered", route="/download")
    response = api_client.get(url, headers=viewer)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ipynb+json"
    safe_run_id = re.sub(r"[^A-Za-z0-9._-]+", "_", notebook_runs.records_run_id)
    assert response.headers["content-disposition"] == (
        f'attachment; filename="{RECORDS}__rendered__{safe_run_id}.ipynb"'
    )
    on_disk = notebook_runs.output / RECORDS / notebook_runs.records_run_id / "rendered--1.ipynb"
    assert response.content == on_disk.read_bytes()
    notebook = nbformat.reads(response.text, as_version=4)
    assert stamped_identity(notebook) == task_instance_identity(
        RECORDS, notebook_runs.records_run_id, "rendered", -1
    )
    assert "forecast for north: 7 days" in notebook.cells[0].outputs[0].text


@pytest.mark.parametrize("map_index", ["0", "1"])
def test_a_mapped_task_instance_downloads_its_own_notebook_named_with_its_index(
    api_client, viewer, notebook_runs, map_index
) -> None:
    url = notebook_url(RECORDS, notebook_runs.records_run_id, "part", map_index, route="/download")
    response = api_client.get(url, headers=viewer)

    assert response.status_code == 200
    assert f'filename="{RECORDS}__part-{map_index}__' in response.headers["content-disposition"]
    assert f"output of part {map_index}" in response.text


def test_a_running_notebook_downloads_as_papermill_saved_it_last(
    api_client, viewer, notebook_runs, live_task
) -> None:
    url = notebook_url(RECORDS, notebook_runs.records_run_id, "live", route="/download")
    papermill_save(
        notebook_runs, ("print('loading')", "completed", "loading 5 rows\n"), ("more()", "running", "")
    )

    response = api_client.get(url, headers=viewer)

    assert response.status_code == 200
    cells = nbformat.reads(response.text, as_version=4).cells
    assert [cell.metadata.papermill.status for cell in cells[1:]] == ["completed", "running"]


@pytest.mark.parametrize("map_index", ["0", "1"])
def test_each_mapped_task_instance_has_its_own_notebook(api_client, viewer, notebook_runs, map_index) -> None:
    url = notebook_url(RECORDS, notebook_runs.records_run_id, "part", map_index, route="/view")
    response = api_client.get(url, headers=viewer)
    assert response.status_code == 200
    assert f"output of part {map_index}" in response.text


@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
@pytest.mark.parametrize(
    "headers, status",
    [
        ({}, 401),
        ({"Authorization": "Bearer not-a-token"}, 403),
        ("no role", 403),
    ],
    ids=["no credentials", "forged token", "user without access to the DAG"],
)
def test_who_may_not_see_it(api_client, token, notebook_runs, headers, status, route) -> None:
    if headers == "no role":
        headers = {"Authorization": f"Bearer {token(None)}"}
    url = notebook_url(RECORDS, notebook_runs.records_run_id, "rendered", route=route)
    response = api_client.get(url, headers=headers)
    assert response.status_code == status
    assert "forecast" not in response.text
    assert "version" not in response.text


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
    # Records that name no notebook of this task instance (forged through the XCom API, or stale).
    "recorded notebook is gone": (RECORDS, "{run}", "vanished", "{MAP_INDEX}"),
    "recorded file is no .ipynb": (RECORDS, "{run}", "elsewhere", "{MAP_INDEX}"),
    "recorded .ipynb symlink to a file that is no notebook": (RECORDS, "{run}", "linked", "{MAP_INDEX}"),
    "recorded relative path": (RECORDS, "{run}", "relative", "{MAP_INDEX}"),
    "recorded notebook of another task instance": (RECORDS, "{run}", "borrowed", "{MAP_INDEX}"),
    "recorded notebook that no task instance stamped": (RECORDS, "{run}", "unstamped", "{MAP_INDEX}"),
    "record that is no record": (RECORDS, "{run}", "malformed", "{MAP_INDEX}"),
    "recorded web URL": (RECORDS, "{run}", "web", "{MAP_INDEX}"),
    "nothing recorded": (RECORDS, "{run}", "no_record", "{MAP_INDEX}"),
}


@pytest.mark.parametrize("route", PAGES.values(), ids=PAGES.keys())
@pytest.mark.parametrize("request_ids", NOT_SERVED.values(), ids=NOT_SERVED.keys())
def test_anything_but_a_recorded_notebook_is_the_same_404(
    api_client, viewer, notebook_runs, request_ids, route
) -> None:
    runs = {"{run}": notebook_runs.records_run_id, "{other_run}": notebook_runs.other_run_id}
    dag_id, run_id, task_id, map_index = (runs.get(part, part) for part in request_ids)

    response = api_client.get(notebook_url(dag_id, run_id, task_id, map_index, route), headers=viewer)

    assert response.status_code == 404
    assert "root:" not in response.text
    assert "output of" not in response.text
    assert "forecast for north" not in response.text


@pytest.mark.parametrize("route", PAGES.values(), ids=PAGES.keys())
@pytest.mark.parametrize("task_id", ["vanished", "elsewhere", "borrowed", "malformed", "no_record"])
def test_the_404_page_says_what_is_missing(api_client, viewer, notebook_runs, task_id, route) -> None:
    """The tab shows on every task instance page: one without a notebook gets a short page, no hints."""
    url = notebook_url(RECORDS, notebook_runs.records_run_id, task_id, route=route)
    response = api_client.get(url, headers=viewer)
    assert response.status_code == 404
    assert NO_NOTEBOOK in response.text
    assert "/etc/passwd" not in response.text and "forecast" not in response.text
    assert "sandbox allow-scripts" in response.headers["content-security-policy"]


@pytest.mark.parametrize("request_ids", NOT_SERVED.values(), ids=NOT_SERVED.keys())
def test_the_status_of_anything_but_a_recorded_notebook_names_no_version(
    api_client, viewer, notebook_runs, request_ids
) -> None:
    runs = {"{run}": notebook_runs.records_run_id, "{other_run}": notebook_runs.other_run_id}
    dag_id, run_id, task_id, map_index = (runs.get(part, part) for part in request_ids)

    response = api_client.get(notebook_url(dag_id, run_id, task_id, map_index, "/status"), headers=viewer)

    assert response.status_code in (200, 404)
    assert response.status_code == 404 or response.json()["version"] is None
    assert "root:" not in response.text and "output of" not in response.text


def test_the_tab_follows_a_running_notebook_cell_by_cell(
    api_client, viewer, notebook_runs, live_task
) -> None:
    status_url = notebook_url(RECORDS, notebook_runs.records_run_id, "live", route="/status")
    view_url = notebook_url(RECORDS, notebook_runs.records_run_id, "live", route="/view")
    papermill_save(
        notebook_runs,
        ("print('loading')", "completed", "loading 5 rows\n"),
        ("\nwait_for_data()\nmore()", "running", ""),
        ("print('done')", "pending", ""),
    )

    running = api_client.get(status_url, headers=viewer).json()

    assert running["finished"] is False and running["state"] == "running"
    assert running["line"] == "Running cell 2/3: wait_for_data()"
    assert "loading 5 rows" in api_client.get(view_url, headers=viewer).text

    papermill_save(
        notebook_runs,
        ("print('loading')", "completed", "loading 5 rows\n"),
        ("\nwait_for_data()\nmore()", "completed", "data is there\n"),
        ("print('done')", "running", ""),
    )
    later = api_client.get(status_url, headers=viewer).json()

    assert later["line"] == "Running cell 3/3: print('done')"
    assert later["version"] != running["version"]
    assert "data is there" in api_client.get(view_url, headers=viewer).text


def test_an_unchanged_notebook_is_rendered_once(api_client, viewer, notebook_runs, monkeypatch) -> None:
    """Views and status polls of a notebook nobody rewrote come from the API server's cache."""
    renders: list[str] = []
    real_render = rendered.notebook_html

    def counted(notebook, title):
        renders.append(title)
        return real_render(notebook, title)

    monkeypatch.setattr(rendered, "notebook_html", counted)
    monkeypatch.setattr(rendered, "PAGES", SizedLru(rendered.MAX_CACHED_HTML))  # as after a restart
    url = notebook_url(RECORDS, notebook_runs.records_run_id, "part", "0", route="/view")
    status_url = notebook_url(RECORDS, notebook_runs.records_run_id, "part", "0", route="/status")

    pages = [api_client.get(url, headers=viewer).text for _ in range(3)]
    api_client.get(status_url, headers=viewer)

    assert pages[0] == pages[1] == pages[2]
    assert "output of part 0" in pages[0]
    assert renders == ["part-0"]

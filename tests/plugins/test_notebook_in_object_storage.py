"""The Notebook tab when workers share no disk with the API server: the output notebook is in
S3 (moto on loopback), read through Airflow's ObjectStoragePath with the record's connection."""

from __future__ import annotations

import nbformat
import pytest

from airflow_jupyter_provider.notebook_stamp import stamp, task_instance_identity
from airflow_jupyter_provider.plugins import rendered
from airflow_jupyter_provider.plugins.sized_lru import SizedLru
from tests.plugins.helpers import RECORDS, NotebookRuns, NotebookStore, notebook_url

pytestmark = pytest.mark.e2e


def upload(store: NotebookStore, runs: NotebookRuns, output: str, task_id: str = "stored") -> None:
    """Put the ``stored`` task instance's notebook where its record says, as its worker would."""
    cell = nbformat.v4.new_code_cell("print(output)", execution_count=1)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{output}\n")]
    notebook = nbformat.v4.new_notebook(cells=[cell])
    stamp(notebook, task_instance_identity(RECORDS, runs.records_run_id, task_id, -1))
    key = f"{RECORDS}/{runs.records_run_id}/stored.ipynb"
    store.client.put_object(Bucket=store.bucket, Key=key, Body=nbformat.writes(notebook).encode())


@pytest.fixture
def renders(monkeypatch) -> list[str]:
    """The titles of the notebooks rendered from now on, starting with an empty cache."""
    titles: list[str] = []
    real_render = rendered.notebook_html

    def counted(notebook, title):
        titles.append(title)
        return real_render(notebook, title)

    monkeypatch.setattr(rendered, "notebook_html", counted)
    monkeypatch.setattr(rendered, "PAGES", SizedLru(rendered.MAX_CACHED_HTML))
    return titles


def test_the_tab_renders_a_notebook_from_s3_once_per_version(
    api_client, token, notebook_runs, notebook_store, renders
) -> None:
    viewer = {"Authorization": f"Bearer {token('viewer')}"}
    view = notebook_url(RECORDS, notebook_runs.records_run_id, "stored", route="/view")
    status = notebook_url(RECORDS, notebook_runs.records_run_id, "stored", route="/status")
    upload(notebook_store, notebook_runs, "forecast from another machine")

    first = api_client.get(view, headers=viewer)
    first_version = api_client.get(status, headers=viewer).json()["version"]
    again = api_client.get(view, headers=viewer)

    assert first.status_code == again.status_code == 200
    assert "forecast from another machine" in first.text
    assert again.text == first.text
    assert renders == ["stored"]

    upload(notebook_store, notebook_runs, "forecast, rewritten")
    changed = api_client.get(view, headers=viewer)

    assert "forecast, rewritten" in changed.text
    assert api_client.get(status, headers=viewer).json()["version"] != first_version
    assert renders == ["stored", "stored"]


def test_an_object_stamped_for_another_task_instance_is_the_404(
    api_client, token, notebook_runs, notebook_store, renders
) -> None:
    viewer = {"Authorization": f"Bearer {token('viewer')}"}
    upload(notebook_store, notebook_runs, "someone else's forecast", task_id="rendered")

    response = api_client.get(notebook_url(RECORDS, notebook_runs.records_run_id, "stored"), headers=viewer)

    assert response.status_code == 404
    assert "someone else's forecast" not in response.text
    assert renders == []


def test_a_notebook_in_s3_downloads_as_it_is_stored(api_client, token, notebook_runs, notebook_store) -> None:
    viewer = {"Authorization": f"Bearer {token('viewer')}"}
    download = notebook_url(RECORDS, notebook_runs.records_run_id, "stored", route="/download")
    upload(notebook_store, notebook_runs, "forecast to take away")
    key = f"{RECORDS}/{notebook_runs.records_run_id}/stored.ipynb"
    stored = notebook_store.client.get_object(Bucket=notebook_store.bucket, Key=key)["Body"].read()

    response = api_client.get(download, headers=viewer)

    assert response.status_code == 200
    assert response.content == stored
    assert "forecast to take away" in response.text

    upload(notebook_store, notebook_runs, "someone else's forecast", task_id="rendered")
    assert api_client.get(download, headers=viewer).status_code == 404

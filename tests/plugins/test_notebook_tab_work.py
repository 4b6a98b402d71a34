"""The Notebook tab to work from, seen in Chromium: each code cell says how long it took, the
cell papermill runs now says "running" and is marked, and **Download notebook** saves the
executed ``.ipynb`` (stamp and all) under ``<dag>__<task>__<run>.ipynb``.

Served by the API server's app of this process (``api_server``); the ``live`` task instance is
made running and its notebook written as papermill writes it, times in each cell's metadata.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import nbformat
import pytest

from airflow_jupyter_provider.notebook_stamp import stamped_identity, task_instance_identity
from tests.e2e.helpers import UI_TIMEOUT, screenshot, wait_for_notebook_text
from tests.helpers import wait_for
from tests.plugins.helpers import RECORDS, NotebookRuns, live_notebook_path, notebook_url, papermill_save

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

pytestmark = pytest.mark.e2e

LOADED = ("rows = load()\nprint(len(rows))", "completed", "loaded 5 rows\n", 0.42)
FITTED = ("model = fit(rows)\nprint(model)", "completed", "fitted a model\n", 75.0)


class Cell(NamedTuple):
    """A code cell as the reader sees it: its timing line (None: none), and whether it is marked."""

    timing: str | None
    marked: bool


def shown_cells(browser: WebDriver) -> list[Cell]:
    """The code cells of the notebook the tab shows now."""
    from selenium.webdriver.common.by import By

    browser.switch_to.frame(browser.find_element(By.CSS_SELECTOR, "iframe.front"))
    try:
        found = browser.execute_script(
            """
            return Array.from(document.querySelectorAll(".jp-CodeCell")).map(function (cell) {
              var line = cell.querySelector(".papermill-timing");
              var style = window.getComputedStyle(cell);
              var marked = cell.getAttribute("aria-current") === "step" && style.outlineStyle === "solid";
              return [line && line.offsetHeight > 0 ? line.textContent : null, marked];
            });
            """
        )
    finally:
        browser.switch_to.parent_frame()
    return [Cell(*cell) for cell in found]


@pytest.fixture
def tab(api_server: str, browser: WebDriver, token, live_task) -> Iterator[tuple[WebDriver, str]]:
    """A signed-in viewer's browser, and the URL of the running ``live`` task instance's tab."""
    browser.get(f"{api_server}/no-page")  # the cookie of a site is set from one of its pages
    browser.add_cookie({"name": "_token", "value": token("viewer")})
    yield browser, api_server
    browser.delete_cookie("_token")


def open_tab(browser: WebDriver, base_url: str, notebook_runs: NotebookRuns, text: str) -> None:
    browser.get(base_url + notebook_url(RECORDS, notebook_runs.records_run_id, "live"))
    wait_for_notebook_text(browser, text)


def test_each_cell_shows_its_duration_and_the_running_cell_is_marked(
    tab: tuple[WebDriver, str], notebook_runs: NotebookRuns
) -> None:
    browser, base_url = tab
    papermill_save(
        notebook_runs, LOADED, FITTED, ("score(model)", "running", "", 0), ("print('done')", "pending", "")
    )
    open_tab(browser, base_url, notebook_runs, "fitted a model")

    assert shown_cells(browser) == [
        Cell("0.42 s", False),
        Cell("1 min 15 s", False),
        Cell("running", True),
        Cell(None, False),
    ]
    screenshot(browser, "notebook-tab-cell-durations-running")

    # The next cell starts: the mark moves with it, the one before says how long it took.
    papermill_save(
        notebook_runs,
        LOADED,
        FITTED,
        ("score(model)", "completed", "score 0.93\n", 14.0),
        ("print('done')", "running", "", 0),
    )
    wait_for_notebook_text(browser, "score 0.93")

    assert shown_cells(browser) == [
        Cell("0.42 s", False),
        Cell("1 min 15 s", False),
        Cell("14.0 s", False),
        Cell("running", True),
    ]


def test_a_failed_cell_says_after_how_long_and_nothing_is_marked_once_the_run_is_over(
    tab: tuple[WebDriver, str], notebook_runs: NotebookRuns
) -> None:
    browser, base_url = tab
    papermill_save(
        notebook_runs,
        LOADED,
        ("fit(rows)", "failed", "ValueError: no rows\n", 2.5),
        ("more()", "pending", ""),
    )
    open_tab(browser, base_url, notebook_runs, "no rows")

    assert shown_cells(browser) == [
        Cell("0.42 s", False),
        Cell("failed after 2.50 s", False),
        Cell(None, False),
    ]


def test_download_notebook_saves_the_executed_notebook_stamped_under_the_task_instances_name(
    tab: tuple[WebDriver, str], notebook_runs: NotebookRuns, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    browser, base_url = tab
    browser.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)}
    )
    papermill_save(notebook_runs, LOADED, FITTED)
    open_tab(browser, base_url, notebook_runs, "fitted a model")

    button = WebDriverWait(browser, UI_TIMEOUT).until(
        expected_conditions.visibility_of_element_located((By.ID, "download"))
    )
    assert button.text == "Download notebook"
    screenshot(browser, "notebook-tab-download")
    button.click()

    run_part = re.sub(r"[^A-Za-z0-9._-]+", "_", notebook_runs.records_run_id)
    downloaded = tmp_path / f"{RECORDS}__live__{run_part}.ipynb"
    assert wait_for(lambda: downloaded.is_file() and not list(tmp_path.glob("*.crdownload")), UI_TIMEOUT)
    assert downloaded.read_bytes() == live_notebook_path(notebook_runs).read_bytes()
    notebook = nbformat.read(downloaded, as_version=4)
    assert stamped_identity(notebook) == task_instance_identity(
        RECORDS, notebook_runs.records_run_id, "live", -1
    )
    assert [cell.metadata.papermill.duration for cell in notebook.cells[1:]] == [0.42, 75.0]

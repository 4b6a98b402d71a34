"""The Notebook tab follows a running notebook, seen in Chromium on a real Airflow: the output of
the cells run so far and ``Running cell N/M`` while the task runs, then the end of the run, all
without the user reloading the page.

The DAG (``dags/jupyter_conda_live.py``) runs a notebook whose fourth cell waits for a file the
test creates once it has seen the cells before it in the tab.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from devtools.stack import AirflowStack
from tests.e2e.helpers import (
    UI_TIMEOUT,
    screenshot,
    ui_login,
    wait_for_notebook_text,
)
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

DAG_ID = "jupyter_conda_live"
TASK_ID = "wait_for_release"
FIRST_OUTPUT = "first output: data loaded"
#: Cells that run: the parameters cell, papermill's injected one, the first output, the wait, the end.
WAITING = "Running cell 4/5: while not Path(release_file).exists():"


def test_the_tab_shows_the_running_notebook_and_its_end_without_a_reload(
    e2e_dags_stack: AirflowStack, browser, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    release = tmp_path / "release"
    run_id = e2e_dags_stack.trigger(DAG_ID, {"release_file": str(release)})
    # The UI has a page for a task instance once the scheduler has made it.
    assert wait_for(lambda: e2e_dags_stack.task_instances(DAG_ID, run_id), timeout=60)
    wait = WebDriverWait(browser, UI_TIMEOUT)
    slow_wait = WebDriverWait(browser, 180)  # the task is queued, unpacks nothing, starts a kernel
    ui_login(browser, e2e_dags_stack)
    browser.get(f"{e2e_dags_stack.base_url}/dags/{DAG_ID}/runs/{quote(run_id, safe='')}/tasks/{TASK_ID}")
    wait.until(
        expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, 'a[href$="/plugin/jupyter-notebook"]'))
    ).click()
    tab = wait.until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, 'iframe[title="Notebook"]'))
    )
    browser.switch_to.frame(tab)
    try:
        slow_wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "state"), WAITING))
        browser.execute_script("document.body.dataset.openedOnce = 'yes'")  # gone if the page reloads
        assert "released: the run goes on" not in wait_for_notebook_text(browser, FIRST_OUTPUT)
        screenshot(browser, "notebook-live-running")

        release.touch()

        wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "state"), "Finished: success"))
        wait_for_notebook_text(browser, "released: the run goes on")
        assert browser.execute_script("return document.body.dataset.openedOnce") == "yes"
    finally:
        browser.switch_to.default_content()
    screenshot(browser, "notebook-live-finished")
    assert e2e_dags_stack.wait_for_run(DAG_ID, run_id, timeout=60) == "success"

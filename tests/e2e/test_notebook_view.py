"""The executed notebook in the Airflow UI, on a real Airflow: the task instance's "Notebook" tab and
its "Output notebook" extra link, seen in Chromium by a signed-in user; refused to everyone else.

The example DAG runs to success first; the operator stamps the notebook it runs and records where
the output notebook goes in XCom, and the plugin's routes on the API server render that notebook.
The tab is a page of the plugin's own that frames the rendered notebook (``iframe.front``).
"""

from __future__ import annotations

import http.client
import re
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import nbformat
import pytest

from devtools.stack import AirflowStack
from tests.e2e.helpers import (
    UI_TIMEOUT,
    DemoFolder,
    screenshot,
    ui_login,
    wait_for_notebook_text,
)
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

DAG_ID = "jupyter_conda_named_env"
TASK_ID = "demand_forecast"
RUN_TIMEOUT = 240
#: Printed by the notebook's last cell for the DAG's default params.
LAST_OUTPUT = "Busiest product:"


@pytest.fixture(scope="module")
def run_id(airflow_stack: AirflowStack) -> str:
    """A run of the example DAG of this module's own, ended successfully."""
    run_id = airflow_stack.trigger(DAG_ID)
    state = airflow_stack.wait_for_run(DAG_ID, run_id, timeout=RUN_TIMEOUT)
    assert state == "success", airflow_stack.task_log(DAG_ID, run_id, TASK_ID)
    return run_id


def notebook_path(dag_id: str, run_id: str, task_id: str, route: str = "") -> str:
    """The tab's URL path as the UI fills it in for the page of an unmapped task instance (and
    the tab's own requests: ``/view``, ``/status``)."""
    ids = "/".join(quote(part, safe="") for part in (dag_id, run_id, task_id))
    return f"/jupyter-conda/notebook/{ids}{route}?map_index={{MAP_INDEX}}"


def task_instance_page(stack: AirflowStack, run_id: str) -> str:
    return f"{stack.base_url}/dags/{DAG_ID}/runs/{quote(run_id, safe='')}/tasks/{TASK_ID}"


def raw_get(stack: AirflowStack, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """GET exactly ``path``, unnormalised (``..`` segments and all), as a hand-made request sends it."""
    address = urlsplit(stack.base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


def test_the_operator_recorded_its_output_notebook(
    airflow_stack: AirflowStack, demo_folder: DemoFolder, run_id: str
) -> None:
    """What the tab renders: the output notebook the record names."""
    xcom = airflow_stack.rest(
        "GET",
        f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{TASK_ID}/xcomEntries/notebook",
        params={"deserialize": True},
    )
    output_nb = demo_folder.output / DAG_ID / run_id / f"{TASK_ID}.ipynb"
    assert xcom["value"] == {"output_nb": str(output_nb), "conn_id": None}
    assert LAST_OUTPUT in output_nb.read_text()


def switch_to_notebook(browser, wait) -> None:
    """Into the rendered notebook, once it shows: the UI's frame of the tab, then the tab's frame
    of the notebook."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions

    frame = wait.until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, 'iframe[title="Notebook"]'))
    )
    browser.switch_to.frame(frame)
    wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "state"), "Finished: success"))
    wait_for_notebook_text(browser, LAST_OUTPUT)  # the tab has swapped in the notebook's last version
    browser.switch_to.frame(browser.find_element(By.CSS_SELECTOR, "iframe.front"))


def test_the_notebook_tab_shows_the_cell_outputs(airflow_stack: AirflowStack, browser, run_id: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    ui_login(browser, airflow_stack)
    browser.get(task_instance_page(airflow_stack, run_id))
    wait = WebDriverWait(browser, UI_TIMEOUT)
    tab = wait.until(
        expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, 'a[href$="/plugin/jupyter-notebook"]'))
    )
    assert tab.text.strip() == "Notebook"
    tab.click()

    switch_to_notebook(browser, wait)
    try:
        wait.until(expected_conditions.text_to_be_present_in_element((By.TAG_NAME, "body"), LAST_OUTPUT))
        body = browser.find_element(By.TAG_NAME, "body").text
        assert "Demand forecast for region 'north': 3 products, 7 days, growth 5.0% a day" in body
        assert "parameter types: int, float, str, list" in body
        # The notebook's scripts run in an origin of their own, never in the UI's.
        assert browser.execute_script("return window.origin") == "null"
        last_output = browser.find_element(By.XPATH, f'//*[contains(text(), "{LAST_OUTPUT}")]')
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", last_output)
    finally:
        browser.switch_to.default_content()
    assert browser.current_url.endswith(f"/tasks/{TASK_ID}/plugin/jupyter-notebook")
    screenshot(browser, "notebook-view")


def test_the_output_notebook_link_leads_to_the_tab(airflow_stack: AirflowStack, browser, run_id: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    ui_login(browser, airflow_stack)
    browser.get(f"{task_instance_page(airflow_stack, run_id)}/details")  # where the UI lists extra links
    wait = WebDriverWait(browser, UI_TIMEOUT)
    link = wait.until(
        expected_conditions.element_to_be_clickable((By.XPATH, '//a[normalize-space()="Output notebook"]'))
    )
    assert (
        link.get_attribute("href") == f"{task_instance_page(airflow_stack, run_id)}/plugin/jupyter-notebook"
    )
    screenshot(browser, "notebook-extra-link")
    link.click()

    wait.until(lambda driver: driver.current_url.endswith("/plugin/jupyter-notebook"))
    switch_to_notebook(browser, wait)
    try:
        wait.until(expected_conditions.text_to_be_present_in_element((By.TAG_NAME, "body"), LAST_OUTPUT))
    finally:
        browser.switch_to.default_content()


def test_in_the_ui_each_cell_shows_its_duration_and_the_notebook_downloads(
    airflow_stack: AirflowStack, demo_folder: DemoFolder, browser, run_id: str, tmp_path: Path
) -> None:
    """papermill's own times of each cell, and the executed notebook saved from the tab inside
    the UI's frame (which must allow downloads)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    browser.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)}
    )
    ui_login(browser, airflow_stack)
    browser.get(f"{task_instance_page(airflow_stack, run_id)}/plugin/jupyter-notebook")
    wait = WebDriverWait(browser, UI_TIMEOUT)
    switch_to_notebook(browser, wait)
    try:
        shown = browser.execute_script(
            "return Array.from(document.querySelectorAll('.jp-CodeCell'), function (cell) {"
            "  var line = cell.querySelector('.papermill-timing'); return line && line.textContent; });"
        )
        browser.switch_to.parent_frame()
        button = wait.until(expected_conditions.element_to_be_clickable((By.ID, "download")))
        assert button.text == "Download notebook"
        button.click()
    finally:
        browser.switch_to.default_content()
    screenshot(browser, "notebook-view-durations")

    output_nb = demo_folder.output / DAG_ID / run_id / f"{TASK_ID}.ipynb"
    executed = nbformat.read(output_nb, as_version=4)
    durations = [cell.metadata.papermill.duration for cell in executed.cells if cell.cell_type == "code"]
    assert all(seconds < 10 for seconds in durations)
    assert shown == [f"{seconds:.2f} s" for seconds in durations]
    run_part = re.sub(r"[^A-Za-z0-9._-]+", "_", run_id)
    downloaded = tmp_path / f"{DAG_ID}__{TASK_ID}__{run_part}.ipynb"
    assert wait_for(lambda: downloaded.is_file() and not list(tmp_path.glob("*.crdownload")), UI_TIMEOUT)
    assert downloaded.read_bytes() == output_nb.read_bytes()


@pytest.mark.parametrize(
    "route", ["", "/view", "/status", "/download"], ids=["tab", "view", "status", "download"]
)
def test_only_a_signed_in_user_gets_anything(airflow_stack: AirflowStack, run_id: str, route: str) -> None:
    url = f"{airflow_stack.base_url}{notebook_path(DAG_ID, run_id, TASK_ID, route)}"

    assert httpx.get(url, timeout=30).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer forged"}, timeout=30).status_code == 403


def test_a_signed_in_user_gets_the_notebook(airflow_stack: AirflowStack, run_id: str) -> None:
    url = f"{airflow_stack.base_url}{notebook_path(DAG_ID, run_id, TASK_ID, '/view')}"
    signed_in = httpx.get(url, headers={"Authorization": f"Bearer {airflow_stack.token()}"}, timeout=30)
    assert signed_in.status_code == 200
    assert LAST_OUTPUT in signed_in.text


@pytest.mark.parametrize(
    "path",
    [
        "/jupyter-conda/notebook/../../../../etc/passwd",
        "/jupyter-conda/notebook/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        f"/jupyter-conda/notebook/{DAG_ID}/..%2F..%2F..%2F..%2Fetc%2Fpasswd/{TASK_ID}",
        f"/jupyter-conda/notebook/{DAG_ID}/{{run_id}}/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        f"/jupyter-conda/notebook/{DAG_ID}/{{run_id}}/{TASK_ID}?map_index=..%2F..%2Fetc%2Fpasswd",
        # The run and task of this DAG, asked for under the other example DAG.
        f"/jupyter-conda/notebook/jupyter_conda_packed_env/{{run_id}}/{TASK_ID}",
    ],
)
def test_path_traversal_and_other_dags_get_404(airflow_stack: AirflowStack, run_id: str, path: str) -> None:
    headers = {"Authorization": f"Bearer {airflow_stack.token()}"}
    status, body = raw_get(airflow_stack, path.replace("{run_id}", quote(run_id, safe="")), headers)
    assert status == 404
    assert "root:" not in body
    assert LAST_OUTPUT not in body

"""Triggering the example DAG on a real Airflow: through REST API v2, and through the UI's form.

The values travel as a user's would: JSON in the run's ``conf`` (or typed into the trigger
form), validated against the DAG's Params, rendered by ``{{ params | tojson }}`` and injected
by papermill; the test reads them back from the executed notebook's injected cell.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

import pytest

from devtools.stack import AirflowStack
from tests.e2e.helpers import UI_TIMEOUT, DemoFolder, screenshot, ui_login
from tests.helpers import injected_parameters

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

pytestmark = pytest.mark.e2e

DAG_ID = "jupyter_conda_named_env"
NOTEBOOK = "demand_forecast.ipynb"
RUN_TIMEOUT = 240


def output_notebook(demo_folder: DemoFolder, run_id: str) -> Path:
    return demo_folder.output / DAG_ID / run_id / NOTEBOOK


def run_count(stack: AirflowStack) -> int:
    return stack.rest("GET", f"/dags/{DAG_ID}/dagRuns")["total_entries"]


def assert_run_succeeded(stack: AirflowStack, run_id: str) -> None:
    state = stack.wait_for_run(DAG_ID, run_id, timeout=RUN_TIMEOUT)
    assert state == "success", stack.describe_run(DAG_ID, run_id)


def test_rest_trigger_with_conf_reaches_the_notebook_typed(
    airflow_stack: AirflowStack, demo_folder: DemoFolder
) -> None:
    conf = {
        "days": 3,
        "growth_rate": 0.125,
        "region": 'north "east" 1',
        "products": ["apples", "star fruit"],
    }
    run_id = airflow_stack.trigger(DAG_ID, conf)
    assert_run_succeeded(airflow_stack, run_id)

    injected = injected_parameters(output_notebook(demo_folder, run_id))
    assert injected == conf
    assert {name: type(value) for name, value in injected.items()} == {
        "days": int,
        "growth_rate": float,
        "region": str,
        "products": list,
    }


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"days": "three"}, "Invalid input for param days: 'three' is not of type 'integer'"),
        ({"growth_rate": "fast"}, "Invalid input for param growth_rate: 'fast' is not of type 'number'"),
        ({"products": "apples"}, "Invalid input for param products: 'apples' is not of type 'array'"),
        ({"days": 31}, "Invalid input for param days: 31 is greater than the maximum of 30"),
    ],
)
def test_rest_trigger_with_a_wrong_type_is_refused_with_a_clear_message(
    airflow_stack: AirflowStack, conf: dict, message: str
) -> None:
    runs_before = run_count(airflow_stack)

    response = airflow_stack.request(
        "POST", f"/dags/{DAG_ID}/dagRuns", json={"logical_date": None, "conf": conf}
    )

    assert response.status_code == 400, response.text
    assert response.json()["detail"].startswith(message), response.text
    # Refused, not turned into a run that fails later.
    assert run_count(airflow_stack) == runs_before


def open_trigger_form(browser: WebDriver, stack: AirflowStack) -> WebElement:
    """Log in, open the DAG's page and its Trigger form; the form's dialog."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    ui_login(browser, stack)
    browser.get(f"{stack.base_url}/dags/{DAG_ID}")
    wait = WebDriverWait(browser, UI_TIMEOUT)
    wait.until(
        expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, "[aria-label='Trigger Dag']"))
    ).click()
    dialog = wait.until(
        expected_conditions.visibility_of_element_located(
            (By.CSS_SELECTOR, "[role=dialog][data-scope=dialog][data-state=open]")
        )
    )
    wait.until(expected_conditions.visibility_of_element_located((By.NAME, "element_days")))
    return dialog


def button(dialog: WebElement, text: str) -> WebElement:
    from selenium.webdriver.common.by import By

    return next(b for b in dialog.find_elements(By.TAG_NAME, "button") if b.text == text)


def retype(field: WebElement, text: str) -> None:
    """Replace a field's text by typing, as a person does (select all, type)."""
    from selenium.webdriver.common.keys import Keys

    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(text)
    assert field.get_attribute("value") == text


def test_ui_trigger_form_runs_the_notebook_with_the_changed_values(
    airflow_stack: AirflowStack, demo_folder: DemoFolder, browser: WebDriver
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    dialog = open_trigger_form(browser, airflow_stack)
    retype(dialog.find_element(By.NAME, "element_days"), "12")
    retype(dialog.find_element(By.NAME, "element_region"), 'west "coast"')
    screenshot(browser, "trigger-form-changed")
    button(dialog, "Trigger").click()

    # The UI goes to the new run's page: /dags/<dag id>/runs/<run id>.
    WebDriverWait(browser, UI_TIMEOUT).until(lambda driver: "/runs/" in driver.current_url)
    run_id = unquote(browser.current_url.split("/runs/", 1)[1].split("/")[0].split("?")[0])
    assert airflow_stack.rest("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}")["triggered_by"] == "ui"
    assert_run_succeeded(airflow_stack, run_id)
    browser.refresh()
    WebDriverWait(browser, UI_TIMEOUT).until(
        lambda driver: "Success" in driver.find_element(By.TAG_NAME, "body").text
    )
    screenshot(browser, "trigger-form-run")

    injected = injected_parameters(output_notebook(demo_folder, run_id))
    assert injected == {
        "days": 12,
        "growth_rate": 0.05,
        "region": 'west "coast"',
        "products": ["apples", "pears", "plums"],
    }
    assert type(injected["days"]) is int
    assert type(injected["growth_rate"]) is float


def test_ui_trigger_form_refuses_a_wrong_type_with_the_params_message(
    airflow_stack: AirflowStack, browser: WebDriver
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    runs_before = run_count(airflow_stack)
    dialog = open_trigger_form(browser, airflow_stack)
    # The typed fields accept only their type (the days field drops letters); a wrong type
    # reaches Airflow through the form's Configuration JSON, pasted as a person would paste it.
    button(dialog, "Advanced Options").click()
    editor = WebDriverWait(browser, UI_TIMEOUT).until(
        expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, ".monaco-editor .view-lines"))
    )
    editor.click()
    browser.switch_to.active_element.send_keys(Keys.CONTROL, "a")
    conf = '{"days": "three", "growth_rate": 0.05, "region": "north", "products": ["apples"]}'
    browser.execute_script(
        """const data = new DataTransfer();
        data.setData("text/plain", arguments[1]);
        arguments[0].dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true}));""",
        browser.switch_to.active_element,
        conf,
    )
    assert '"three"' in editor.text
    button(dialog, "Trigger").click()

    message = "Invalid input for param days: 'three' is not of type 'integer'"
    WebDriverWait(browser, UI_TIMEOUT).until(lambda driver: message in dialog.text)
    screenshot(browser, "trigger-form-wrong-type")
    assert "/runs/" not in browser.current_url
    assert run_count(airflow_stack) == runs_before

"""What the end-to-end tests share: the demo folder, the browser's login and screenshots."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

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

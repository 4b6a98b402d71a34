"""The Notebook tab keeps the reader's place while a notebook runs, seen in Chromium: a new version
of the notebook swaps in at the offset the reader had scrolled to, or at its bottom, new cells
in view, for a reader who was at the bottom; never at the top first.

The tab is served by the API server's app of this process (``api_server``); the ``live`` task
instance is made running and its notebook rewritten as papermill rewrites it after each cell.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

import pytest

from tests.e2e.helpers import wait_for_notebook_text
from tests.plugins.helpers import RECORDS, NotebookRuns, notebook_url, papermill_save

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

pytestmark = pytest.mark.e2e

#: Cells of the notebook the reader opens: several windows of the tab high.
CELLS = 60
#: Where the reader who is not at the bottom reads.
READ_AT = 1500


class Place(NamedTuple):
    """Where the notebook the tab shows is scrolled to, and where its bottom is."""

    top: float
    bottom: float

    @property
    def at_bottom(self) -> bool:
        return self.top >= self.bottom - 1


def cells(count: int) -> list[tuple[str, str, str]]:
    return [(f"print({number})", "completed", f"output of cell {number}\n") for number in range(count)]


def in_front_frame(browser: WebDriver, script: str, *args: object) -> object:
    """Run ``script`` (asynchronous: it calls its last argument) in the notebook the tab shows."""
    from selenium.webdriver.common.by import By

    browser.switch_to.frame(browser.find_element(By.CSS_SELECTOR, "iframe.front"))
    try:
        return browser.execute_async_script(script, *args)
    finally:
        browser.switch_to.parent_frame()


def scroll(browser: WebDriver, top: int | None) -> Place:
    """Scroll the notebook the tab shows to ``top`` (None: its bottom); where it is once the page
    has had its scroll event, as a reader's scrolling gives it one."""
    return Place(
        *in_front_frame(
            browser,
            """
            var top = arguments[0], done = arguments[1], page = document.scrollingElement;
            window.addEventListener("scroll", function () {
              done([page.scrollTop, page.scrollHeight - page.clientHeight]);
            }, {once: true});
            page.scrollTop = top === null ? page.scrollHeight : top;
            """,
            top,
        )
    )


def place(browser: WebDriver) -> Place:
    script = """
    var page = document.scrollingElement;
    arguments[0]([page.scrollTop, page.scrollHeight - page.clientHeight]);
    """
    return Place(*in_front_frame(browser, script))


def new_version(browser: WebDriver, notebook_runs: NotebookRuns, count: int) -> None:
    """Papermill saves the notebook with ``count`` cells; return once the tab shows that version."""
    papermill_save(notebook_runs, *cells(count))
    wait_for_notebook_text(browser, f"output of cell {count - 1}")


@pytest.fixture
def tab(
    api_server: str, browser: WebDriver, token, notebook_runs: NotebookRuns, live_task
) -> Iterator[WebDriver]:
    """The running ``live`` task instance's tab in the browser of a signed-in viewer, showing
    ``CELLS`` cells."""
    papermill_save(notebook_runs, *cells(CELLS))
    browser.get(f"{api_server}/no-page")  # the cookie of a site is set from one of its pages
    browser.add_cookie({"name": "_token", "value": token("viewer")})
    browser.get(api_server + notebook_url(RECORDS, notebook_runs.records_run_id, "live"))
    wait_for_notebook_text(browser, f"output of cell {CELLS - 1}")
    yield browser
    browser.delete_cookie("_token")


def test_a_new_version_opens_where_the_reader_was(tab: WebDriver, notebook_runs: NotebookRuns) -> None:
    assert scroll(tab, READ_AT).top == READ_AT

    new_version(tab, notebook_runs, CELLS + 1)

    shown = place(tab)  # at once: the tab shows a new version only once it is in place
    assert shown.top == READ_AT
    assert not shown.at_bottom


def test_a_reader_at_the_bottom_follows_the_new_cells(tab: WebDriver, notebook_runs: NotebookRuns) -> None:
    was = scroll(tab, None)
    assert was.at_bottom

    new_version(tab, notebook_runs, CELLS + 5)

    shown = place(tab)  # at once: the tab shows a new version only once it is in place
    assert shown.at_bottom
    assert shown.top > was.top

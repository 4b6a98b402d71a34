"""The executed notebook as HTML, rendered by the worker's nbconvert."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from airflow_jupyter_provider.run.render import html_location_for, notebook_html, render_html

FAILED_NOTEBOOK = Path(__file__).parent / "papermill_output" / "failed_cell.ipynb"


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    """The text a browser shows of ``html`` (scripts and styles left out)."""
    parser = _Text()
    parser.feed(html)
    return "".join(parser.parts)


def test_failed_notebook_renders_with_its_error_visible(tmp_path: Path) -> None:
    output_html = tmp_path / "deep" / "folder" / "failed.html"

    render_html(str(FAILED_NOTEBOOK), output_html)

    html = output_html.read_text(encoding="utf-8")
    text = visible_text(html)
    assert "ValueError: no data for 5" in text
    assert "raise ValueError(f'no data for {rows}')" in text
    assert "An Exception was encountered at 'In [5]'" in text  # papermill's marker cell
    assert "loading 5" in text  # the output of the cells before
    assert "\x1b" not in html  # colour codes became HTML
    assert [path.name for path in output_html.parent.iterdir()] == ["failed.html"]


@pytest.mark.parametrize(
    ("output_nb", "expected"),
    [
        ("/data/out/report.ipynb", "/data/out/report.html"),
        ("out/Report.IPYNB", "out/Report.html"),
        ("out/report", "out/report.html"),
        ("out/report.ipynb.v2", "out/report.ipynb.v2.html"),
    ],
)
def test_html_location_beside_the_output_notebook(output_nb: str, expected: str) -> None:
    assert html_location_for(output_nb) == expected


def test_a_notebook_renders_to_a_page_titled_as_asked() -> None:
    """What the API server's Notebook tab serves: the page as text."""
    notebook = nbformat.read(FAILED_NOTEBOOK, as_version=4)

    html = notebook_html(notebook, "failed <run>")

    assert "<title>failed &lt;run&gt;</title>" in html
    assert "ValueError: no data for 5" in visible_text(html)


def test_json_outputs_show_as_json_and_the_page_is_titled_after_the_notebook(tmp_path: Path) -> None:
    cell = nbformat.v4.new_code_cell('display(JSON({"busiest": "pears"}))', execution_count=1)
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={
                "application/json": {"busiest": "pears"},
                "text/plain": "<IPython.core.display.JSON object>",
            },
        )
    ]
    executed = tmp_path / "forecast.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), executed)
    output_html = tmp_path / "forecast.html"

    render_html(str(executed), output_html)

    text = visible_text(output_html.read_text())
    assert '"busiest": "pears"' in text
    assert "JSON object" not in text
    assert "<title>forecast</title>" in output_html.read_text()

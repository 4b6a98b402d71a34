"""What each code cell's line in the Notebook tab says, read from papermill's metadata, and that
the notebook's own text cannot leave the data's ``<script>``."""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from airflow_jupyter_provider.plugins.cell_timings import cell_timings, duration_text, timings_html


def cell(papermill: dict | None) -> nbformat.NotebookNode:
    made = nbformat.v4.new_code_cell("x = 1")
    if papermill is not None:
        made.metadata["papermill"] = papermill
    return made


def notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title"), *cells])


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0.0421, "0.04 s"), (3.456, "3.46 s"), (12.34, "12.3 s"), (125.4, "2 min 05 s"), (3725, "1 h 02 min")],
)
def test_a_duration_is_as_precise_as_a_reader_needs(seconds: float, shown: str) -> None:
    assert duration_text(seconds) == shown


def test_each_code_cell_says_how_long_it_took_or_that_it_runs() -> None:
    times = {"start_time": "2026-12-06T09:30:00+00:00", "end_time": "2026-12-06T09:30:01+00:00"}
    timings = cell_timings(
        notebook(
            cell({"status": "completed", "duration": 0.5, **times}),
            cell({"status": "failed", "duration": 1.25, "exception": True, **times}),
            cell({"status": "running", "start_time": times["start_time"], "duration": None}),
            cell({"status": "pending", "start_time": None, "duration": None}),
            cell(None),
        )
    )

    assert [(timing["status"], timing["label"]) for timing in timings] == [
        ("completed", "0.50 s"),
        ("failed", "failed after 1.25 s"),
        ("running", "running"),
        ("pending", ""),
        ("", ""),
    ]
    assert timings[0]["title"] == "started 2026-12-06T09:30:00+00:00, ended 2026-12-06T09:30:01+00:00"
    assert timings[2]["title"] == "started 2026-12-06T09:30:00+00:00"


def test_the_notebooks_text_stays_data_inside_the_page() -> None:
    forged = "</script><script>alert(1)</script>"
    html = timings_html(notebook(cell({"status": "completed", "duration": 1, "start_time": forged})))

    assert forged not in html
    data = re.search(r'<script type="application/json" id="papermill-timings">(.*?)</script>', html).group(1)
    assert json.loads(data)[0]["title"] == f"started {forged}"

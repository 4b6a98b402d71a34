"""The Notebook tab's rendering of a notebook that papermill is rewriting in place: a read that
meets it half-written reads it again rather than answering "no notebook", which the tab would
show in place of the page the reader was reading."""

from __future__ import annotations

import threading
from pathlib import Path

import nbformat
import pytest

from airflow_jupyter_provider.notebook_stamp import stamp, task_instance_identity
from airflow_jupyter_provider.plugins import rendered
from airflow_jupyter_provider.plugins.notebook_source import LocalNotebook
from airflow_jupyter_provider.plugins.rendered import rendered_notebook

IDENTITY = task_instance_identity("reports", "manual__1", "weekly", -1)


def stamped_notebook_text() -> str:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('weekly totals')")])
    stamp(notebook, IDENTITY)
    return nbformat.writes(notebook)


def test_a_notebook_met_half_written_is_shown_once_papermill_has_written_it(tmp_path: Path) -> None:
    path, whole = tmp_path / "weekly.ipynb", stamped_notebook_text()
    path.write_text(whole[: len(whole) // 2])
    papermill_ends_its_save = threading.Timer(0.3, path.write_text, [whole])
    papermill_ends_its_save.start()
    try:
        page = rendered_notebook(LocalNotebook(path), IDENTITY)
    finally:
        papermill_ends_its_save.join()

    assert page is not None
    assert "weekly totals" in page.html


def test_a_file_that_stays_no_notebook_is_not_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rendered, "SAVE_WAIT", 0.2)
    path = tmp_path / "weekly.ipynb"
    path.write_text('{"cells": [')

    assert rendered_notebook(LocalNotebook(path), IDENTITY) is None

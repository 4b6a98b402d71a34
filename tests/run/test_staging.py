"""Uploading the output notebook while papermill writes it: papermill rewrites the file in place
right after it logs that a cell starts, which is when the worker uploads it
(``run/staging.py``). The upload target is a local ``file://`` ObjectStoragePath, as a bucket
would be reached through ``notebook_conn_id``."""

from __future__ import annotations

import threading
from pathlib import Path

import nbformat
import pytest

from airflow_jupyter_provider.exceptions import RunFailed
from airflow_jupyter_provider.run import staging
from airflow_jupyter_provider.run.papermill_args import Locations
from airflow_jupyter_provider.run.staging import Staged
from tests.helpers import write_notebook


def staged_upload(tmp_path: Path) -> tuple[Staged, Path, Path]:
    """A run whose papermill writes ``written`` and whose output notebook is ``uploaded``."""
    from airflow.sdk import ObjectStoragePath

    written, uploaded = tmp_path / "papermill" / "out.ipynb", tmp_path / "bucket" / "out.ipynb"
    written.parent.mkdir()
    uploaded.parent.mkdir()
    where = Locations(str(tmp_path / "in.ipynb"), f"file://{uploaded}")
    return (
        Staged(where, where.input, str(written), None, ObjectStoragePath(f"file://{uploaded}")),
        written,
        uploaded,
    )


def test_an_upload_that_meets_the_notebook_half_written_uploads_it_once_it_is_whole(tmp_path: Path) -> None:
    staged, written, uploaded = staged_upload(tmp_path)
    whole = write_notebook(tmp_path / "whole.ipynb", "print('cell one')", "print('cell two')").read_text()
    written.write_text(whole[: len(whole) // 2])
    papermill_ends_its_save = threading.Timer(0.3, written.write_text, [whole])
    papermill_ends_its_save.start()
    try:
        staged.upload()
    finally:
        papermill_ends_its_save.join()

    assert uploaded.read_text() == whole
    assert [cell.source for cell in nbformat.read(uploaded, as_version=4).cells] == [
        "print('cell one')",
        "print('cell two')",
    ]


def test_a_notebook_never_whole_is_not_uploaded_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staging, "SAVE_WAIT", 0.2)
    staged, written, uploaded = staged_upload(tmp_path)
    written.write_text('{"cells": [')

    with pytest.raises(RunFailed, match=r"out\.ipynb is being written: Expecting value") as caught:
        staged.upload()

    assert caught.value.retryable
    assert not uploaded.exists()

"""Saving the output notebook while papermill writes it (``run/staging.py``): papermill rewrites
its private copy in place, and the worker saves each version where the output notebook goes, its
secrets masked. The upload target is a local ``file://`` ObjectStoragePath, as a bucket would be
reached through ``notebook_conn_id``; a local output is written by the worker itself."""

from __future__ import annotations

import stat
import threading
import uuid
from pathlib import Path

import nbformat
import pytest

from airflow_jupyter_provider.exceptions import RunFailed
from airflow_jupyter_provider.run import staging
from airflow_jupyter_provider.run.output_files import OutputFiles
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
        staged.save()
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
        staged.save()

    assert caught.value.retryable
    assert not uploaded.exists()


def staged_local(tmp_path: Path, tenant: str | None = None) -> tuple[Staged, Path, Path]:
    """A run whose papermill writes ``written`` and whose output notebook is the local ``output``."""
    written, output = tmp_path / "papermill" / "out.ipynb", tmp_path / "run" / "out.ipynb"
    written.parent.mkdir()
    where = Locations(str(tmp_path / "in.ipynb"), str(output))
    return Staged(where, where.input, str(written), None, files=OutputFiles(tenant)), written, output


def test_a_secret_the_notebook_printed_is_masked_in_every_saved_version(tmp_path: Path) -> None:
    from airflow.sdk.log import mask_secret

    # Unique, and holding no secret another test registered (the masker replaces those inside it too).
    secret = uuid.uuid4().hex
    mask_secret(secret)
    staged, written, output = staged_local(tmp_path)
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(os.environ['API_TOKEN'])")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"token: {secret}\n")]
    notebook.cells = [cell]
    nbformat.write(notebook, written)

    staged.save()

    saved = output.read_text()
    assert secret not in saved
    assert nbformat.reads(saved, as_version=4).cells[0].outputs[0].text == "token: ***\n"
    assert secret in written.read_text()  # papermill's private copy, in the run's own folder

    staged.finish(executed := nbformat.read(written, as_version=4))
    staged.save(executed)
    assert secret not in output.read_text()
    assert "token: ***" in output.read_text()


def test_a_local_output_is_replaced_whole_never_written_in_place(tmp_path: Path) -> None:
    staged, written, output = staged_local(tmp_path)
    write_notebook(written, "print('first version')")
    staged.save()
    first = output.stat().st_ino
    write_notebook(written, "print('second version')")

    staged.save()

    assert output.stat().st_ino != first  # a reader holding the first version still reads it whole
    assert nbformat.read(output, as_version=4).cells[0].source == "print('second version')"
    assert [path.name for path in output.parent.iterdir()] == ["out.ipynb"]


def test_a_tenants_notebook_is_its_own_and_its_run_folder_takes_other_tenants_notebooks(
    tmp_path: Path,
) -> None:
    base = tmp_path / "data"
    base.mkdir()
    base.chmod(0o2775)  # the API server's group, passed on to what is created below
    output = base / "dag" / "run" / "out.ipynb"
    written = tmp_path / "papermill.ipynb"
    write_notebook(written, "x = 1")
    where = Locations(str(tmp_path / "in.ipynb"), str(output))
    staged = Staged(where, where.input, str(written), None, files=OutputFiles("tenant-a"))

    staged.save()

    assert stat.S_IMODE(output.stat().st_mode) == 0o640
    for folder in (base / "dag", base / "dag" / "run"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o3773, oct(folder.stat().st_mode)

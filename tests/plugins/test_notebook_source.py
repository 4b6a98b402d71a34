"""Which notebook a task instance's record names, as the API server opens it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from airflow_jupyter_provider.plugins import notebook_source
from airflow_jupyter_provider.plugins.notebook_source import (
    LocalNotebook,
    NotebookUnreadable,
    StoredNotebook,
    source_of,
)


def test_a_local_record_names_the_notebook_behind_its_symlinks(tmp_path: Path) -> None:
    notebook = tmp_path / "out.ipynb"
    notebook.write_text("{}")
    (tmp_path / "link.ipynb").symlink_to(notebook)

    assert source_of({"output_nb": str(tmp_path / "link.ipynb"), "conn_id": None}) == LocalNotebook(notebook)


def test_an_object_storage_record_keeps_its_connection() -> None:
    record = {"output_nb": "s3://bucket/runs/out.ipynb", "conn_id": "aws_notebooks"}
    assert source_of(record) == StoredNotebook("s3://bucket/runs/out.ipynb", "aws_notebooks")


@pytest.mark.parametrize(
    "record",
    [
        "/data/out.ipynb",
        {"output_nb": 42, "conn_id": None},
        {"output_nb": "/data/out.ipynb", "conn_id": 7},
        {"conn_id": None},
        {"output_nb": "relative/out.ipynb", "conn_id": None},
        {"output_nb": "file:///data/out.ipynb", "conn_id": None},
        {"output_nb": "/etc/passwd", "conn_id": None},
        {"output_nb": "s3://bucket/secrets.json", "conn_id": None},
        {"output_nb": "http://169.254.169.254/latest/out.ipynb", "conn_id": None},
        {"output_nb": "HTTPS://example.invalid/out.ipynb", "conn_id": None},
    ],
)
def test_records_that_name_no_notebook_the_server_opens(record) -> None:
    assert source_of(record) is None


def test_a_rewritten_notebook_is_a_new_version(tmp_path: Path) -> None:
    path = tmp_path / "out.ipynb"
    path.write_text('{"cells": []}')
    source = LocalNotebook(path)
    first = source.version()

    path.write_text('{"cells": [], "metadata": {}}')

    assert source.version() != first
    assert source.read() == b'{"cells": [], "metadata": {}}'


def test_a_notebook_that_is_gone_or_no_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(NotebookUnreadable, match="cannot stat it"):
        LocalNotebook(tmp_path / "gone.ipynb").version()
    (tmp_path / "folder.ipynb").mkdir()
    with pytest.raises(NotebookUnreadable, match="it is no regular file"):
        LocalNotebook(tmp_path / "folder.ipynb").version()


def test_a_notebook_over_the_size_cap_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.ipynb"
    with path.open("wb") as file:
        os.truncate(file.fileno(), notebook_source.MAX_NOTEBOOK_BYTES + 1)  # sparse: no disk used

    with pytest.raises(NotebookUnreadable, match=f"larger than {notebook_source.MAX_NOTEBOOK_BYTES} bytes"):
        LocalNotebook(path).read()

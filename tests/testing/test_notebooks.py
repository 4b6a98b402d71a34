"""What a notebook declares, by papermill's inspection, and which declared parameters have no default."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from airflow_jupyter_provider.testing.notebooks import NotebookError, declared_parameters, read_notebook
from tests.helpers import write_notebook


def declared(tmp_path: Path, source: str) -> dict[str, bool]:
    notebook = read_notebook(write_notebook(tmp_path / "nb.ipynb", source))
    return {name: parameter.has_default for name, parameter in declared_parameters(notebook, None).items()}


def test_none_and_empty_text_are_no_default(tmp_path: Path) -> None:
    source = 'table = None\nlabel = ""\nsuffix = \'\'\nlimit = 0\nname: str = "x"  # help text\nflag = False'
    assert declared(tmp_path, source) == {
        "table": False,
        "label": False,
        "suffix": False,
        "limit": True,
        "name": True,
        "flag": True,
    }


def test_lines_papermill_cannot_parse_still_declare_their_names(tmp_path: Path) -> None:
    """papermill skips a line with two '=' and reads a bare annotation into the line above it."""
    source = "options = dict(retries=3)\ndays = 7\nregion: str"
    assert declared(tmp_path, source) == {"options": True, "days": True, "region": False}


def test_a_notebook_without_parameters_cell_declares_nothing(tmp_path: Path) -> None:
    path = tmp_path / "nb.ipynb"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("days = 7")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)
    assert declared_parameters(read_notebook(path), None) is None


def test_a_language_papermill_cannot_inspect_is_said_so(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "nb.ipynb", "days <- 7", kernel="ir")
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata["kernelspec"]["language"] = "R"
    nbformat.write(notebook, path)
    with pytest.raises(NotebookError, match="papermill cannot inspect the parameters cell of"):
        declared_parameters(read_notebook(path), "ir")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("", "Notebook does not appear to be JSON: ''"),
        (
            '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, '
            '"cells": [{"cell_type": "code", "id": "a", "metadata": {}, "source": ""}]}',
            "'outputs' is a required property",
        ),
    ],
)
def test_an_invalid_notebook_is_named_with_the_reason(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "nb.ipynb"
    path.write_text(content)
    with pytest.raises(NotebookError, match=re.escape(f"'{path}' is not a valid notebook: {reason}")):
        read_notebook(path)

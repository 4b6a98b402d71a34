"""A cell that fails without an error output, as a line magic's UsageError does (IPython only
prints it): the task's exception and its log still name the cell, the error and the magic.
Real papermill and kernels in the test conda installation."""

from __future__ import annotations

from pathlib import Path

import pytest
from structlog.testing import capture_logs

from airflow_jupyter_provider.compat import AirflowException
from airflow_jupyter_provider.hooks.jupyter_conda import JupyterCondaHook
from tests.helpers import CondaInstall, messages, run_notebook, write_notebook


def failed_run(conda_install: CondaInstall, notebook: Path) -> tuple[str, list[str]]:
    """The exception message and the task log of a run of ``notebook`` that fails."""
    with capture_logs() as logs, pytest.raises(AirflowException) as caught:
        run_notebook(
            JupyterCondaHook(),
            input_nb=str(notebook),
            output_nb=str(notebook.with_name("out.ipynb")),
            conda_env=conda_install.env_name,
        )
    return str(caught.value), messages(logs)


def test_unknown_line_magic_names_the_cell_and_the_magic(
    conda_connection: CondaInstall, tmp_path: Path
) -> None:
    notebook = write_notebook(
        tmp_path / "magic.ipynb", "x = 1", "print('before')", "# load\n%not_a_magic", "print('never')"
    )

    message, log = failed_run(conda_connection, notebook)

    assert f"Notebook {notebook} failed: cell [3] raised UsageError: Line magic function " in message
    assert (
        "cell [3] raised UsageError: Line magic function `%not_a_magic` not found. The output notebook"
        in message
    )
    assert "PapermillExecutionError" not in message
    start = log.index("cell 3/4: # load")
    assert log[start:] == [
        "cell 3/4: # load",
        "UsageError: Line magic function `%not_a_magic` not found.",
        "cell 3/4 failed: UsageError: Line magic function `%not_a_magic` not found.",
        "Source of the cell:",
        "    # load",
        "    %not_a_magic",
    ]


def test_usage_error_that_does_not_name_the_magic_is_said_with_the_cells_magic(
    conda_connection: CondaInstall, tmp_path: Path
) -> None:
    notebook = write_notebook(tmp_path / "timeit.ipynb", "x = 1", "%timeit -badflag x + 1")

    message, log = failed_run(conda_connection, notebook)

    # What follows "not recognized" (the options %timeit allows) depends on IPython's version.
    assert "cell [2] raised UsageError in %timeit: option -b not recognized (" in message
    assert log[-3].startswith("cell 2/2 failed: UsageError in %timeit: option -b not recognized (")
    assert log[-2:] == ["Source of the cell:", "    %timeit -badflag x + 1"]

"""Kernel names as papermill takes them: ``python`` is the environment's own Python kernel
(jupyter_client's KernelManager starts ``python3`` for it; nbclient's tests run every notebook
with ``kernel_name="python"``), whether the task sets it or the notebook's kernelspec names it.
Real papermill and ipykernel in the session's conda-layout environment."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from structlog.testing import capture_logs

from airflow_jupyter_provider.hooks.jupyter_conda import JupyterCondaHook
from airflow_jupyter_provider.run.start_papermill import kernelspec_name
from devtools.notebooks import write_notebook
from tests.helpers import CondaInstall, messages, run_notebook

PRINT_KERNEL = "import sys\nprint('kernel python:', sys.prefix)"


@pytest.mark.parametrize(
    ("name", "spec"), [("python", "python3"), ("python3", "python3"), ("Python", "Python"), ("ir", "ir")]
)
def test_only_the_name_python_stands_for_the_native_kernel(name: str, spec: str) -> None:
    """Exactly as jupyter_client's KernelManager maps it: no other name, no other spelling."""
    assert kernelspec_name(name) == spec


def run_printing_kernel(
    install: CondaInstall, tmp_path: Path, notebook_kernel: str, **arguments: str
) -> tuple[str, list[str]]:
    """Run a notebook whose kernelspec names ``notebook_kernel`` in the environment of ``install``;
    what its kernel printed, and the task log."""
    notebook = write_notebook(tmp_path / "kernel.ipynb", "x = 1", PRINT_KERNEL, kernel=notebook_kernel)
    output = tmp_path / "out.ipynb"
    with capture_logs() as logs:
        run_notebook(
            JupyterCondaHook(),
            input_nb=str(notebook),
            output_nb=str(output),
            conda_env=install.env_name,
            **arguments,
        )
    texts = [o.get("text", "") for cell in nbformat.read(output, as_version=4).cells for o in cell.outputs]
    return next(text for text in texts if text.startswith("kernel python:")).strip(), messages(logs)


def test_kernel_python_given_to_the_task_runs_in_the_environments_python(
    conda_connection: CondaInstall, tmp_path: Path
) -> None:
    printed, log = run_printing_kernel(conda_connection, tmp_path, "python3", kernel="python")

    assert printed == f"kernel python: {conda_connection.prefix}"
    assert "Executing notebook with kernel: python" in log
    assert not [line for line in log if "is not in conda environment" in line]


def test_a_notebook_whose_kernelspec_says_python_runs_in_the_environments_python(
    conda_connection: CondaInstall, tmp_path: Path
) -> None:
    printed, log = run_printing_kernel(conda_connection, tmp_path, "python")

    assert printed == f"kernel python: {conda_connection.prefix}"
    assert "Executing notebook with kernel: python" in log
    assert not [line for line in log if "is not in conda environment" in line]

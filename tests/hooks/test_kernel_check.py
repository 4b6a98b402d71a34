"""A notebook whose kernel the environment lacks (JupyterLab with nb_conda_kernels names kernels
like ``conda-env-analysis-py``): the environment's one kernel for the notebook's language stands
in for it, and the task log says so; without exactly one, the task fails without retry, listing
the environment's kernels. A kernel the task sets is that one or none. Real papermill and
kernels in conda-layout environments."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from structlog.testing import capture_logs

from airflow_jupyter_provider.compat import AirflowFailException
from airflow_jupyter_provider.hooks.jupyter_conda import JupyterCondaHook
from tests.helpers import CondaInstall, messages, run_notebook, write_notebook

NB_CONDA_KERNEL = "conda-env-analysis-py"
#: A cell that prints which kernel runs it: KERNEL_SEEN is set by the kernelspecs made below.
REPORT_KERNEL = "import os\nprint('kernel seen:', os.environ.get('KERNEL_SEEN', 'ipykernel python3'))"


def add_kernel(prefix: Path, name: str, language: str, argv: list[str]) -> None:
    """A kernelspec folder in the environment, as conda packages of kernels install them."""
    folder = prefix / "share" / "jupyter" / "kernels" / name
    folder.mkdir(parents=True)
    spec = {"argv": argv, "display_name": name, "language": language, "env": {"KERNEL_SEEN": name}}
    (folder / "kernel.json").write_text(json.dumps(spec))


@pytest.fixture(scope="module")
def two_python_kernels(conda_install: CondaInstall, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the test environment with a second Python kernel, python3-gpu, and an R one."""
    prefix = tmp_path_factory.mktemp("kernels") / "analysis"
    shutil.copytree(conda_install.prefix, prefix, symlinks=True)
    python = ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    add_kernel(prefix, "python3-gpu", "python", python)
    add_kernel(prefix, "ir", "R", ["R", "--slave", "-e", "IRkernel::main()", "--args", "{connection_file}"])
    return prefix


def notebook_of(tmp_path: Path, kernel: str) -> Path:
    return write_notebook(tmp_path / "analysis.ipynb", "x = 1", REPORT_KERNEL, kernel=kernel)


def run(conda_env: str, notebook: Path, **arguments: Any) -> tuple[Path, list[str]]:
    """Run ``notebook``; the output notebook and the task log."""
    output = notebook.with_name("out.ipynb")
    with capture_logs() as logs:
        run_notebook(
            JupyterCondaHook(),
            input_nb=str(notebook),
            output_nb=str(output),
            conda_env=conda_env,
            **arguments,
        )
    return output, messages(logs)


def kernel_seen(output: Path) -> str:
    texts = [o.get("text", "") for cell in nbformat.read(output, as_version=4).cells for o in cell.outputs]
    return next(text for text in texts if text.startswith("kernel seen:")).strip()


def test_the_environments_only_python_kernel_stands_in_and_the_log_says_so(
    conda_connection: CondaInstall, tmp_path: Path
) -> None:
    output, log = run(conda_connection.env_name, notebook_of(tmp_path, NB_CONDA_KERNEL))

    stand_in = (
        f"The notebook's kernel '{NB_CONDA_KERNEL}' is not in conda environment 'jupyter-test': running it "
        "with 'python3', the environment's only python kernel (set kernel= to run another)"
    )
    assert log[log.index(stand_in) + 1 :][:3] == [
        f"Input Notebook:  {tmp_path / 'analysis.ipynb'}",
        f"Output Notebook: {output}",
        f"Working directory: {tmp_path}",
    ]
    assert "Executing notebook with kernel: python3" in log
    assert kernel_seen(output) == "kernel seen: ipykernel python3"


def test_two_kernels_for_the_language_fail_without_retry_listing_the_kernels(
    conda_connection: CondaInstall, two_python_kernels: Path, tmp_path: Path
) -> None:
    notebook = notebook_of(tmp_path, NB_CONDA_KERNEL)

    with pytest.raises(AirflowFailException) as caught:
        run(str(two_python_kernels), notebook)

    assert str(caught.value) == (
        f"the notebook's kernel '{NB_CONDA_KERNEL}' is not in conda environment '{two_python_kernels}', and "
        "2 of its kernels are for python; the environment's kernels: ir (R), python3 (python), "
        "python3-gpu (python). Set kernel= to the one to run the notebook with"
    )
    assert not notebook.with_name("out.ipynb").exists()


def test_no_kernel_for_the_language_fails_without_retry_listing_the_kernels(
    conda_connection: CondaInstall, tmp_path: Path
) -> None:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    notebook.metadata["kernelspec"] = {"name": "conda-env-analysis-r", "display_name": "R", "language": "R"}
    nbformat.write(notebook, tmp_path / "analysis.ipynb")

    with pytest.raises(AirflowFailException) as caught:
        run(conda_connection.env_name, tmp_path / "analysis.ipynb")

    assert str(caught.value) == (
        "the notebook's kernel 'conda-env-analysis-r' is not in conda environment 'jupyter-test', and none "
        "of its kernels is for R; the environment's kernels: python3 (python). Set kernel= to the one to "
        "run the notebook with"
    )


def test_kernel_given_to_the_task_wins(
    conda_connection: CondaInstall, two_python_kernels: Path, tmp_path: Path
) -> None:
    output, log = run(str(two_python_kernels), notebook_of(tmp_path, NB_CONDA_KERNEL), kernel="python3-gpu")

    assert "Executing notebook with kernel: python3-gpu" in log
    assert not [line for line in log if "is not in conda environment" in line]
    assert kernel_seen(output) == "kernel seen: python3-gpu"


def test_a_kernel_given_to_the_task_that_the_environment_lacks_fails_without_retry_and_nothing_stands_in(
    conda_connection: CondaInstall, two_python_kernels: Path, tmp_path: Path
) -> None:
    notebook = notebook_of(tmp_path, "python3")

    with pytest.raises(AirflowFailException) as caught:
        run(str(two_python_kernels), notebook, kernel="python3-gpu-typo")

    assert str(caught.value) == (
        f"kernel 'python3-gpu-typo' (the task's kernel=) is not in conda environment '{two_python_kernels}'; "
        "the environment's kernels: ir (R), python3 (python), python3-gpu (python). Set kernel= to one "
        "of them, or install the kernel 'python3-gpu-typo' into the environment"
    )
    assert not notebook.with_name("out.ipynb").exists()


@pytest.mark.parametrize("kernel", ["python3-gpu", "Python3"])
def test_a_notebook_whose_kernel_the_environment_has_is_untouched(
    kernel: str, conda_connection: CondaInstall, two_python_kernels: Path, tmp_path: Path
) -> None:
    output, log = run(str(two_python_kernels), notebook_of(tmp_path, kernel))

    assert f"Executing notebook with kernel: {kernel}" in log
    assert not [line for line in log if "is not in conda environment" in line]
    assert (
        kernel_seen(output)
        == f"kernel seen: {'python3-gpu' if kernel == 'python3-gpu' else 'ipykernel python3'}"
    )

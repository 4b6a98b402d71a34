"""Kernels of an environment folder: the check sees what jupyter_client, running in it, finds."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager

from airflow_jupyter_provider.testing import check_dag_folder
from airflow_jupyter_provider.testing.kernels import environment_kernels
from tests.helpers import CondaInstall
from tests.testing.helpers import BROKEN_DAGS

#: Run by the environment's own Python: the kernels its jupyter_client finds inside the environment.
KERNELS_IN_ENV = """
import json, os, sys
from jupyter_client.kernelspec import KernelSpecManager
specs = KernelSpecManager().find_kernel_specs()
prefix = os.path.realpath(sys.prefix)
print(json.dumps(sorted(n for n, d in specs.items() if os.path.realpath(d).startswith(prefix + os.sep))))
"""

DAG = """
from datetime import datetime
from airflow.sdk import DAG
from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

with DAG(dag_id="kernels", schedule=None, start_date=datetime(2025, 1, 1)):
    for kernel in ("python3", "python", "julia-1.10"):
        JupyterCondaOperator(
            task_id=kernel.replace(".", "_"),
            conda_env={prefix!r},
            input_nb="forecast.ipynb",
            output_nb="out.ipynb",
            kernel=kernel,
        )
"""

NOTEBOOK_KERNEL_DAG = """
from datetime import datetime
from airflow.sdk import DAG
from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

with DAG(dag_id="kernels", schedule=None, start_date=datetime(2025, 1, 1)):
    JupyterCondaOperator(
        task_id="run", conda_env={prefix!r}, input_nb="forecast.ipynb", output_nb="out.ipynb"
    )
"""


def test_a_conda_layout_environment_has_the_kernels_its_jupyter_client_finds(
    conda_install: CondaInstall,
) -> None:
    python = conda_install.prefix / "bin" / "python"
    result = subprocess.run([str(python), "-c", KERNELS_IN_ENV], capture_output=True, text=True, check=True)
    assert sorted(environment_kernels(conda_install.prefix)) == json.loads(result.stdout) == ["python3"]


def test_kernel_folders_match_as_jupyter_client_matches_them(tmp_path: Path) -> None:
    """Names without regard to case, and only folders that hold a kernel.json."""
    kernels = tmp_path / "share" / "jupyter" / "kernels"
    for name, spec in (("IR", True), ("julia-1.10", True), ("half-installed", False)):
        (kernels / name).mkdir(parents=True)
        if spec:
            (kernels / name / "kernel.json").write_text(
                '{"argv": ["true"], "display_name": "x", "language": "x"}'
            )
    manager = KernelSpecManager(kernel_dirs=[str(kernels)], ensure_native_kernel=False)
    assert set(environment_kernels(tmp_path)) == set(manager.find_kernel_specs()) == {"ir", "julia-1.10"}
    assert environment_kernels(tmp_path) == {"ir": "x", "julia-1.10": "x"}


def test_python3_comes_from_ipykernel_without_a_kernel_json(tmp_path: Path) -> None:
    """jupyter_client falls back to ipykernel's own spec for python3 when ipykernel is importable."""
    package = tmp_path / "lib" / "python3.11" / "site-packages" / "ipykernel"
    package.mkdir(parents=True)
    (package / "__init__.py").touch()
    assert environment_kernels(tmp_path) == {"python3": "python"}
    assert environment_kernels(tmp_path / "elsewhere") == {}


def test_a_kernel_missing_from_a_real_environment_is_found(
    conda_install: CondaInstall, tmp_path: Path
) -> None:
    shutil.copyfile(BROKEN_DAGS / "notebooks" / "forecast.ipynb", tmp_path / "forecast.ipynb")
    (tmp_path / "kernels.py").write_text(DAG.format(prefix=str(conda_install.prefix)))
    assert [str(finding) for finding in check_dag_folder(tmp_path)] == [
        "kernels.py: dag kernels, task julia-1_10: kernel 'julia-1.10' (the task's kernel=) is not in "
        f"conda environment '{conda_install.prefix}'; the environment's kernels: python3 (python). Set "
        "kernel= to one of them, or install the kernel 'julia-1.10' into the environment"
    ]


def test_the_notebooks_kernel_missing_from_a_real_environment_has_a_stand_in_or_is_found(
    conda_install: CondaInstall, tmp_path: Path
) -> None:
    """As a run does: the environment's only Python kernel stands in for the notebook's; a second
    Python kernel makes the choice the task's (kernel=)."""
    prefix = tmp_path / "env"
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "conda-meta" / "history").touch()
    shutil.copytree(
        conda_install.prefix / "share" / "jupyter" / "kernels", prefix / "share" / "jupyter" / "kernels"
    )
    shutil.copyfile(BROKEN_DAGS / "notebooks" / "nb_conda_kernel.ipynb", tmp_path / "forecast.ipynb")
    (tmp_path / "kernels.py").write_text(NOTEBOOK_KERNEL_DAG.format(prefix=str(prefix)))
    assert check_dag_folder(tmp_path) == []

    gpu = prefix / "share" / "jupyter" / "kernels" / "python3-gpu"
    gpu.mkdir()
    (gpu / "kernel.json").write_text('{"argv": ["python"], "display_name": "GPU", "language": "python"}')
    assert [str(finding) for finding in check_dag_folder(tmp_path)] == [
        "kernels.py: dag kernels, task run: the notebook's kernel 'conda-env-analysis-py' is not in "
        f"conda environment '{prefix}', and 2 of its kernels are for python; the environment's kernels: "
        "python3 (python), python3-gpu (python). Set kernel= to the one to run the notebook with"
    ]


def test_a_notebook_whose_kernelspec_says_python_has_the_environments_python_kernel(
    conda_install: CondaInstall, tmp_path: Path
) -> None:
    """``python`` is jupyter_client's name for the native kernel, as a run takes it: no stand-in
    needed, even with a second Python kernel in the environment."""
    prefix = tmp_path / "env"
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "conda-meta" / "history").touch()
    gpu = prefix / "share" / "jupyter" / "kernels" / "python3-gpu"
    gpu.mkdir(parents=True)
    (gpu / "kernel.json").write_text('{"argv": ["python"], "display_name": "GPU", "language": "python"}')
    shutil.copytree(
        conda_install.prefix / "share" / "jupyter" / "kernels" / "python3", gpu.with_name("python3")
    )
    notebook = json.loads((BROKEN_DAGS / "notebooks" / "nb_conda_kernel.ipynb").read_text())
    notebook["metadata"]["kernelspec"]["name"] = "python"
    (tmp_path / "forecast.ipynb").write_text(json.dumps(notebook))
    (tmp_path / "kernels.py").write_text(NOTEBOOK_KERNEL_DAG.format(prefix=str(prefix)))

    assert check_dag_folder(tmp_path) == []

    notebook["metadata"]["kernelspec"]["name"] = "pyth0n"
    (tmp_path / "forecast.ipynb").write_text(json.dumps(notebook))
    assert [finding.check for finding in check_dag_folder(tmp_path)] == ["kernel"]

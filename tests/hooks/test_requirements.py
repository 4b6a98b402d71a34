"""Notebooks that need one more package: ``requirements`` layered on a named, a folder and a
packed environment, in real papermill runs, built by uv and by pip from the tests' own index."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from airflow.sdk import Param
from structlog.testing import capture_logs

from airflow_jupyter_provider.compat import AirflowFailException
from airflow_jupyter_provider.hooks.jupyter_conda import JupyterCondaHook
from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator
from tests.helpers import CondaInstall, dag_in, run_notebook, run_task, write_notebook
from tests.package_index import LocalIndex

USES_THE_PACKAGE = "import sys, jc_tiny\nprint(jc_tiny.VALUE)\nprint(sys.executable)"


def run_with_requirements(
    folder: Path, conda_env: str, requirements: list[str] | str
) -> tuple[list[str], list[str]]:
    """Run a notebook that imports jc_tiny; what its cell printed, and the hook's log."""
    notebook = write_notebook(folder / "uses.ipynb", "x = 0", USES_THE_PACKAGE)
    output = folder / "out.ipynb"
    with capture_logs() as logs:
        run_notebook(
            JupyterCondaHook(),
            input_nb=str(notebook),
            output_nb=str(output),
            conda_env=conda_env,
            requirements=requirements,
            base_dir=folder,
        )
    printed = nbformat.read(output, as_version=4).cells[1].outputs[0].text.splitlines()
    return printed, [entry["event"] % entry.get("positional_args", ()) for entry in logs]


@pytest.fixture
def index_connection(
    conda_install: CondaInstall, package_index: LocalIndex, monkeypatch: pytest.MonkeyPatch
) -> CondaInstall:
    conn = {"conda_path": str(conda_install.conda_sh), "index_url": package_index.url}
    monkeypatch.setenv(
        "AIRFLOW_CONN_JUPYTER_CONDA_DEFAULT", json.dumps({"conn_type": "jupyter_conda", "extra": conn})
    )
    return conda_install


@pytest.mark.parametrize("base", ["named", "folder", "packed"])
def test_a_requirement_is_importable_in_the_notebook_and_a_second_run_builds_nothing(
    base: str,
    installer: str,
    index_connection: CondaInstall,
    packed_env: Path,
    layer_cache: Path,
    tmp_path: Path,
) -> None:
    conda_env = {
        "named": index_connection.env_name,
        "folder": str(index_connection.prefix),
        "packed": str(packed_env),
    }[base]
    (tmp_path / "requirements.txt").write_text("# what the notebook needs\njc-tiny>=1.0\n")

    printed, log = run_with_requirements(tmp_path, conda_env, "requirements.txt")
    again, log_again = run_with_requirements(tmp_path, conda_env, ["jc-tiny >= 1.0"])

    assert printed[0] == again[0] == "tiny 1.0 on base 1.0"
    kernel_python = Path(printed[1])
    assert kernel_python.parent.parent.parent == layer_cache  # <cache>/<layer>/bin/python
    assert again[1] == printed[1]
    assert any(f"installing jc-tiny>=1.0 with {installer}" in line for line in log), log
    assert any(": built at " in line for line in log)
    assert not any(": built at " in line or "installing" in line for line in log_again), log_again
    assert any(": cached at " in line for line in log_again)


def test_the_operator_renders_its_requirements_file_from_the_trigger_form(
    installer: str, index_connection: CondaInstall, layer_cache: Path, tmp_path: Path
) -> None:
    (tmp_path / "report-requirements.txt").write_text("jc-tiny==1.0\n")
    notebook = write_notebook(tmp_path / "uses.ipynb", "x = 0", USES_THE_PACKAGE)

    def task() -> JupyterCondaOperator:
        with dag_in(tmp_path, "reqs", params={"needs": Param("daily", type="string")}):
            return JupyterCondaOperator(
                task_id="nb",
                input_nb=str(notebook),
                output_nb=str(tmp_path / "out.ipynb"),
                conda_env=index_connection.env_name,
                requirements="{{ params.needs }}-requirements.txt",
            )

    with pytest.raises(
        AirflowFailException, match=r"cannot read the requirements file 'daily-requirements\.txt'"
    ):
        run_task(task())
    output = run_task(task(), {"needs": "report"})

    printed = nbformat.read(output, as_version=4).cells[1].outputs[0].text
    assert printed.startswith("tiny 1.0 on base 1.0")

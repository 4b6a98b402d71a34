"""``output_html``: checked when the DAG file is parsed, as the other static arguments are; off
by default, so a task pays nothing for HTML it was not asked for; on, a file in the worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator
from tests.helpers import REPO, CondaInstall, write_notebook


def operator(output_html: Any) -> JupyterCondaOperator:
    with DAG("html", schedule=None):
        return JupyterCondaOperator(
            task_id="nb",
            input_nb="nb.ipynb",
            output_nb="out/nb.ipynb",
            conda_env="jupyter-test",
            output_html=output_html,
        )


@pytest.mark.parametrize(
    "value", [None, 1, "", "   ", "s3://bucket/report.html", ["out.html"], "report.htm", "out/nb.ipynb"]
)
def test_wrong_output_html_is_refused_naming_the_argument_and_the_value(value: Any) -> None:
    with pytest.raises(ValueError) as refused:
        operator(value)

    assert str(refused.value) == (
        "output_html must be True (beside output_nb), False (no HTML) or a local path ending in .html, "
        f"got {value!r}"
    )


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        "report.html",
        "/data/{{ ds }}/report.html",
        "file:///data/report.html",
        "/data/REPORT.HTML",
        "{{ var.value.html }}",
    ],
)
def test_output_html_that_is_accepted(value: Any) -> None:
    assert operator(value).output_html == value


#: A task run in a fresh interpreter (as a task process is), with the operator's defaults or
#: ``output_html`` from argv[3]; prints the files beside the output and whether nbconvert was imported.
ONE_TASK = """
import json, sys
from pathlib import Path
from tests.helpers import dag_in, run_task
from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

folder = Path(sys.argv[1])
html = {} if sys.argv[3] == "default" else {"output_html": json.loads(sys.argv[3])}
with dag_in(folder, "html_cost"):
    op = JupyterCondaOperator(
        task_id="nb", input_nb="nb.ipynb", output_nb="out/nb.ipynb", conda_env=sys.argv[2], **html
    )
run_task(op)
print(json.dumps({
    "files": sorted(p.name for p in (folder / "out").iterdir()),
    "nbconvert": "nbconvert" in sys.modules,
}))
"""


def one_task(folder: Path, conda_env: str, output_html: str) -> dict[str, Any]:
    argv = [sys.executable, "-c", ONE_TASK, str(folder), conda_env, output_html]
    result = subprocess.run(argv, cwd=REPO, env=dict(os.environ), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_task_with_default_settings_imports_no_nbconvert_and_writes_no_html(
    conda_connection: CondaInstall, tmp_path: Path
) -> None:
    write_notebook(tmp_path / "nb.ipynb", "print('ran')")

    seen = one_task(tmp_path, conda_connection.env_name, "default")

    assert seen == {"files": ["nb.ipynb"], "nbconvert": False}


def test_output_html_true_renders_beside_the_output_notebook(
    conda_connection: CondaInstall, tmp_path: Path
) -> None:
    write_notebook(tmp_path / "nb.ipynb", "print('ran')")

    seen = one_task(tmp_path, conda_connection.env_name, "true")

    assert seen == {"files": ["nb.html", "nb.ipynb"], "nbconvert": True}
    assert "ran" in (tmp_path / "out" / "nb.html").read_text(encoding="utf-8")

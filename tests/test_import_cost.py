"""DAG files import the operator module on every parse, so it must not pull in papermill and friends,
nor OpenLineage's machinery (the operator's lineage methods import it when the listener asks).

Checked in a fresh interpreter: this test session has imported papermill already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import heavy_modules_after


def test_airflow_sdk_alone_imports_none_of_them() -> None:
    """Otherwise the checks below would pass or fail for Airflow's reasons, not ours."""
    assert heavy_modules_after("import airflow.sdk") == []


@pytest.mark.parametrize(
    "module",
    ["airflow_jupyter_provider.operators.jupyter_conda", "airflow_jupyter_provider.hooks.jupyter_conda"],
)
def test_module_imports_none_of_them(module: str) -> None:
    assert heavy_modules_after(f"import {module}") == []


#: A DAG file as a user writes one, parsed in a fresh interpreter; prints the loaded modules.
PARSE_A_DAG = """
import json, sys
from datetime import datetime

from airflow.sdk import DAG

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

with DAG(dag_id="parsed", schedule=None, start_date=datetime(2025, 1, 1), catchup=False):
    JupyterCondaOperator(
        task_id="notebook",
        conda_env="jupyter-demo",
        input_nb="notebooks/report.ipynb",
        output_nb="/tmp/output/report.ipynb",
        parameters={"days": 3},
    )
print(json.dumps(sorted(sys.modules)))
"""


#: What a DAG parse has no use for, with the modules under it: OpenLineage's client, the
#: provider's extractors and listener plugin, and this package's facets (which import both).
#: ``airflow.providers.openlineage.get_provider_info``, which ``airflow.sdk`` loads with every
#: provider's, is Airflow's doing and none of these.
LINEAGE_MACHINERY = (
    "openlineage",
    "airflow.providers.openlineage.extractors",
    "airflow.providers.openlineage.plugins",
    "airflow_jupyter_provider.lineage.facets",
)


def lineage_module(name: str) -> bool:
    return any(name == package or name.startswith(f"{package}.") for package in LINEAGE_MACHINERY)


def test_parsing_a_dag_with_the_operator_imports_no_lineage_machinery(tmp_path: Path) -> None:
    """The operator reports lineage only when the OpenLineage listener asks it, on the worker:
    a DAG processor parsing its DAGs pays nothing for it, even with the provider installed."""
    from importlib.util import find_spec

    assert find_spec("airflow.providers.openlineage") is not None, "the test extra installs the provider"
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow-home")}
    result = subprocess.run(
        [sys.executable, "-c", PARSE_A_DAG], capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 0, result.stderr
    modules = json.loads(result.stdout.splitlines()[-1])
    assert "airflow_jupyter_provider.operators.jupyter_conda" in modules
    assert [name for name in modules if lineage_module(name)] == []

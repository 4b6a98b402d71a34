"""DAG files import the operator module on every parse, so it must not pull in papermill and friends.

Checked in a fresh interpreter: this test session has imported papermill already.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("papermill", "nbformat", "nbclient", "jupyter_client", "conda_pack", "libarchive")


def heavy_modules_after(statement: str) -> list[str]:
    """The HEAVY modules a fresh interpreter holds after running ``statement``."""
    code = f"import json, sys\n{statement}\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_airflow_sdk_alone_imports_none_of_them() -> None:
    """Otherwise the checks below would pass or fail for Airflow's reasons, not ours."""
    assert heavy_modules_after("import airflow.sdk") == []


@pytest.mark.parametrize(
    "module",
    ["airflow_jupyter_provider.operators.jupyter_conda", "airflow_jupyter_provider.hooks.jupyter_conda"],
)
def test_module_imports_none_of_them(module: str) -> None:
    assert heavy_modules_after(f"import {module}") == []

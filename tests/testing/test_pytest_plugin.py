"""The ``jupyter_dag_integrity`` fixture as a user meets it: installed with the package, used in a
test file of their own, run by pytest in a fresh interpreter on a CI machine with no Airflow
database (a fresh ``AIRFLOW_HOME``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from tests.helpers import REPO
from tests.testing.helpers import BROKEN_DAGS, EXPECTED, POOLS_FILE

PLUGIN = "airflow_jupyter_provider.testing.pytest_plugin"


def run_pytest(project: Path, test_source: str) -> subprocess.CompletedProcess[str]:
    """Run pytest on ``test_source`` written into ``project``, as a user's CI would."""
    (project / "test_dags.py").write_text(test_source)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(project / "airflow-home"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_dags.py"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def user_project(tmp_path: Path) -> Path:
    """A project with the broken DAGs in dags/ and the pools file beside it."""
    shutil.copytree(BROKEN_DAGS, tmp_path / "dags", ignore=shutil.ignore_patterns("pools.json"))
    shutil.copyfile(POOLS_FILE, tmp_path / "pools.json")
    return tmp_path


def test_the_fixture_is_a_registered_pytest_plugin() -> None:
    plugins = {entry.name: entry.value for entry in entry_points(group="pytest11")}
    assert plugins["jupyter_dag_integrity"] == PLUGIN


def test_loading_the_plugin_imports_neither_airflow_nor_papermill() -> None:
    """pytest loads it in every session of a project that installs the provider."""
    heavy = ("airflow", "papermill", "nbformat", "jupyter_client", "sqlalchemy", "jinja2")
    code = f"import json, sys, {PLUGIN}\nprint(json.dumps([m for m in {heavy!r} if m in sys.modules]))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []


def test_a_broken_folder_fails_the_test_listing_each_finding(user_project: Path) -> None:
    result = run_pytest(
        user_project,
        "def test_dags(jupyter_dag_integrity):\n"
        '    jupyter_dag_integrity("dags", pools_file="pools.json", strict=True)\n',
    )
    assert result.returncode == 1, result.stdout
    lines = result.stdout.splitlines()
    pools_file = user_project / "pools.json"
    for finding in EXPECTED:
        # No database here: the pools file is all there is to look in.
        line = str(finding).replace(f"the Airflow database nor in '{POOLS_FILE}'", f"'{pools_file}'")
        assert line.replace(str(BROKEN_DAGS), str(user_project / "dags")) in lines
    # The pool that only the database of test_broken_dags.py has does not exist here.
    assert (
        f"correct.py: dag correct, task summary: pool 'gpu' does not exist (not in '{pools_file}'): "
        "the task would stay scheduled forever"
    ) in lines
    errors, skipped = sum(not f.skipped for f in EXPECTED), sum(f.skipped for f in EXPECTED)
    assert f"{errors + 1} DAG integrity problem(s):" in lines
    assert f" jupyter_dag_integrity: {skipped} check(s) skipped, not passed " in result.stdout


def test_the_example_dags_pass(tmp_path: Path) -> None:
    folder = str(REPO / "example_dags")
    result = run_pytest(
        tmp_path,
        f"def test_dags(jupyter_dag_integrity):\n    jupyter_dag_integrity({folder!r}, strict=True)\n",
    )
    assert result.returncode == 0, result.stdout
    assert "1 passed" in result.stdout
    assert "skipped, not passed" not in result.stdout


def test_skipped_checks_pass_and_are_listed_at_the_end(tmp_path: Path) -> None:
    """No database and no pools file: a pool cannot be checked, which is said, not passed over."""
    (tmp_path / "dags").mkdir()
    shutil.copyfile(BROKEN_DAGS / "unknown_pool.py", tmp_path / "dags" / "unknown_pool.py")
    shutil.copytree(BROKEN_DAGS / "notebooks", tmp_path / "dags" / "notebooks")
    result = run_pytest(
        tmp_path, 'def test_dags(jupyter_dag_integrity):\n    jupyter_dag_integrity("dags")\n'
    )
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    section = next(
        index for index, line in enumerate(lines) if "jupyter_dag_integrity: 1 check(s) skipped" in line
    )
    assert lines[section + 1] == (
        "unknown_pool.py: dag unknown_pool, task run: skipped: pool 'gpu_a100' not checked: "
        "the Airflow database cannot be read and no pools_file is given"
    )

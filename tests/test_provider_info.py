"""The provider as Airflow sees it once installed: listed, its connection type and form known,
and the ``conda_path`` extra read from every place a connection can live.

Runs against the AIRFLOW_HOME that tests/conftest.py makes for this test run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from airflow_jupyter_provider import __version__
from airflow_jupyter_provider.compat import AirflowNotFoundException
from airflow_jupyter_provider.config import DEFAULT_CONDA_PATH
from airflow_jupyter_provider.hooks.jupyter_conda import JupyterCondaHook
from tests.helpers import needs_connection_form_fields

HOOK_CLASS = "airflow_jupyter_provider.hooks.jupyter_conda.JupyterCondaHook"
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def airflow_cli(*args: str, env: dict[str, str] | None = None) -> str:
    """Run the ``airflow`` command of this interpreter's venv; return its stdout."""
    result = subprocess.run(
        [AIRFLOW, *args], capture_output=True, text=True, env=env or dict(os.environ), timeout=300
    )
    assert result.returncode == 0, f"airflow {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def connection_json(conda_path: str | None) -> str:
    """A jupyter_conda connection in the JSON form of AIRFLOW_CONN_* variables."""
    extra = {"conda_path": conda_path} if conda_path else {}
    return json.dumps({"conn_type": "jupyter_conda", "extra": extra})


def test_providers_list_shows_the_package() -> None:
    providers = json.loads(airflow_cli("providers", "list", "--output", "json"))
    versions = {provider["package_name"]: provider["version"] for provider in providers}
    assert versions.get("airflow-jupyter-provider") == __version__


@needs_connection_form_fields
def test_providers_manager_knows_the_connection_type() -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    hook = manager.hooks["jupyter_conda"]
    assert (hook.hook_name, hook.hook_class_name) == ("Jupyter Conda", HOOK_CLASS)

    widget = manager.connection_form_widgets["extra__jupyter_conda__conda_path"]
    assert widget.hook_class_name == HOOK_CLASS
    assert widget.field_name == "conda_path"
    assert widget.field["schema"]["title"] == "Path of conda.sh"
    assert widget.field["schema"]["default"] == DEFAULT_CONDA_PATH


def test_the_task_runtime_loads_the_hook_of_the_connection_type() -> None:
    """The task runtime imports the hook class to describe it; None here means it failed to load."""
    try:
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime
    except ImportError:  # Airflow 3.1: one ProvidersManager serves the runtime too
        from airflow.providers_manager import ProvidersManager as ProvidersManagerTaskRuntime

    hook = ProvidersManagerTaskRuntime().hooks["jupyter_conda"]
    assert hook is not None
    assert (hook.hook_class_name, hook.hook_name) == (HOOK_CLASS, "Jupyter Conda")
    assert hook.connection_id_attribute_name == "jupyter_conda_conn_id"


def test_providers_manager_knows_the_ui_plugin() -> None:
    """The provider-info route to the plugin (the ``airflow.plugins`` entry point is the other)."""
    from airflow.providers_manager import PluginInfo, ProvidersManager

    plugins = [
        plugin for plugin in ProvidersManager().plugins if plugin.provider_name == "airflow-jupyter-provider"
    ]
    assert plugins == [
        PluginInfo(
            name="jupyter_conda",
            plugin_class="airflow_jupyter_provider.plugins.notebook_view.JupyterCondaPlugin",
            provider_name="airflow-jupyter-provider",
        )
    ]


@needs_connection_form_fields
def test_connection_form_the_ui_receives() -> None:
    """What the api-server's /ui/connections/hook_meta hands the connection form."""
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    meta = next(m for m in HookMetaService.hook_meta_data() if m.connection_type == "jupyter_conda")
    assert meta.hook_name == "Jupyter Conda"
    field = meta.extra_fields["conda_path"]
    assert (field["schema"]["title"], field["value"]) == ("Path of conda.sh", DEFAULT_CONDA_PATH)
    standard = meta.standard_fields
    assert all(getattr(standard, name).hidden for name in ("host", "port", "login", "password"))


def test_hook_reads_conda_path_from_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_JUPYTER_CONDA_DEFAULT", connection_json("/env/etc/profile.d/conda.sh"))
    monkeypatch.setenv("AIRFLOW_CONN_OTHER_CONDA", connection_json("/other/etc/profile.d/conda.sh"))
    assert JupyterCondaHook().settings.conda_path == "/env/etc/profile.d/conda.sh"
    assert JupyterCondaHook("other_conda").settings.conda_path == "/other/etc/profile.d/conda.sh"


def test_hook_falls_back_to_the_default_conda_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_JUPYTER_CONDA_DEFAULT", raising=False)
    assert JupyterCondaHook().settings.conda_path == DEFAULT_CONDA_PATH
    monkeypatch.setenv("AIRFLOW_CONN_JUPYTER_CONDA_DEFAULT", connection_json(None))
    assert JupyterCondaHook().settings.conda_path == DEFAULT_CONDA_PATH


def test_hook_refuses_a_missing_connection_it_was_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_NO_SUCH_CONNECTION", raising=False)
    with pytest.raises(AirflowNotFoundException, match="no_such_connection"):
        _ = JupyterCondaHook("no_such_connection").settings.conda_path


PROBE_DAG = """
import json

import pendulum
from airflow.sdk import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1), catchup=False)
def probe_jupyter_conda_connection():
    @task
    def probe():
        from airflow_jupyter_provider.hooks.jupyter_conda import JupyterCondaHook

        found = {}
        for conn_id in ("conda_from_db", "conda_from_env", "jupyter_conda_default", "no_such_connection"):
            try:
                found[conn_id] = JupyterCondaHook(conn_id).settings.conda_path
            except Exception as err:
                found[conn_id] = type(err).__name__
        print("PROBE " + json.dumps(found))

    probe()


probe_jupyter_conda_connection()
"""


@pytest.mark.e2e
def test_hook_in_a_task_reads_the_metadata_db(tmp_path: Path) -> None:
    """Inside a task, connections come through the supervisor: metadata DB and env variables."""
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "probe.py").write_text(textwrap.dedent(PROBE_DAG))
    env = dict(os.environ, AIRFLOW__CORE__DAGS_FOLDER=str(dags))
    env.pop("AIRFLOW_CONN_JUPYTER_CONDA_DEFAULT", None)
    env["AIRFLOW_CONN_CONDA_FROM_ENV"] = connection_json("/env/etc/profile.d/conda.sh")

    airflow_cli("db", "migrate", env=env)
    airflow_cli(
        "connections", "add", "conda_from_db", "--conn-type", "jupyter_conda",
        "--conn-extra", json.dumps({"conda_path": "/db/etc/profile.d/conda.sh"}), env=env,
    )  # fmt: skip
    output = airflow_cli("dags", "test", "probe_jupyter_conda_connection", env=env)

    probe = next(line for line in output.splitlines() if "PROBE " in line)
    assert json.loads(probe.split("PROBE ", 1)[1]) == {
        "conda_from_db": "/db/etc/profile.d/conda.sh",
        "conda_from_env": "/env/etc/profile.d/conda.sh",
        "jupyter_conda_default": DEFAULT_CONDA_PATH,
        "no_such_connection": "AirflowNotFoundException",
    }

"""How Airflow finds the plugin once the package is installed, and what loading it costs the
processes that load every plugin (scheduler, DAG processor, each task)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def loaded_plugins(**settings: str) -> list[dict]:
    """What ``airflow plugins`` reports of the plugin jupyter_conda, ``settings`` in its environment."""
    env = dict(os.environ, AIRFLOW__CORE__LOAD_EXAMPLES="False", **settings)
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "plugins", "--output", "json"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    plugins = json.loads(result.stdout.strip().splitlines()[-1])
    return [plugin for plugin in plugins if plugin["name"] == "jupyter_conda"]


@pytest.mark.parametrize(
    "lazy_discover_providers",
    ["True", "False"],
    ids=["airflow.plugins entry point (Airflow's default)", "entry point and provider info both"],
)
def test_airflow_loads_the_plugin_once(lazy_discover_providers: str) -> None:
    """Airflow loads provider-info plugins only with lazy_discover_providers off; then it skips the second."""
    plugins = loaded_plugins(AIRFLOW__CORE__LAZY_DISCOVER_PROVIDERS=lazy_discover_providers)

    assert len(plugins) == 1, plugins
    plugin = plugins[0]
    assert (plugin["source"] or "").startswith("airflow-jupyter-provider=="), "not from the entry point"
    assert plugin["external_views"] == [
        {
            "name": "Notebook",
            "href": "/jupyter-conda/notebook/{DAG_ID}/{RUN_ID}/{TASK_ID}?map_index={MAP_INDEX}",
            "destination": "task_instance",
            "url_route": "jupyter-notebook",
        }
    ]
    assert plugin["fastapi_apps"] == [
        {
            "app": "airflow_jupyter_provider.plugins.notebook_view.NotebookApp",
            "url_prefix": "/jupyter-conda",
            "name": "Jupyter Conda notebooks",
        }
    ]


def test_the_tab_follows_the_api_servers_base_path() -> None:
    """Behind a proxy at /airflow/ the API server serves the plugin's app under that path too."""
    plugins = loaded_plugins(AIRFLOW__API__BASE_URL="https://example.invalid/airflow/")
    assert plugins[0]["external_views"][0]["href"].startswith("/airflow/jupyter-conda/notebook/")


@pytest.mark.parametrize(
    "statement",
    [
        "import airflow.plugins_manager, airflow_jupyter_provider.plugins.notebook_view",
        "import airflow.sdk, airflow_jupyter_provider.operators.jupyter_conda",
    ],
    ids=["plugin", "operator with its extra link"],
)
def test_loading_the_plugin_imports_no_web_framework(statement: str) -> None:
    """FastAPI and the routes are imported by the API server's first request to them, not before."""
    modules = ("fastapi", "starlette", "airflow_jupyter_provider.plugins.notebook_app")
    code = f"import json, sys\n{statement}\nprint(json.dumps([m for m in {modules!r} if m in sys.modules]))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == []

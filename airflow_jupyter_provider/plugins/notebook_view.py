"""The Airflow plugin: a "Notebook" tab on every task instance page, served by the API server.

Airflow loads plugins in the scheduler, the DAG processor and every task too, so this module
imports no FastAPI: the app is built on the API server's first request to it.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from airflow_jupyter_provider.plugins import URL_PREFIX, VIEW_ROUTE, base_path


class NotebookApp:
    """The ASGI app mounted at ``URL_PREFIX``: builds ``notebook_app``'s FastAPI app when first called."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        from airflow_jupyter_provider.plugins.notebook_app import create_app

        await create_app()(scope, receive, send)


class JupyterCondaPlugin(AirflowPlugin):
    name = "jupyter_conda"
    fastapi_apps = [{"app": NotebookApp(), "url_prefix": URL_PREFIX, "name": "Jupyter Conda notebooks"}]
    external_views = [
        {
            "name": "Notebook",
            # The UI fills in the placeholders from the page it shows the tab on.
            "href": base_path() + URL_PREFIX + "/notebook/{DAG_ID}/{RUN_ID}/{TASK_ID}?map_index={MAP_INDEX}",
            "destination": "task_instance",
            "url_route": VIEW_ROUTE,
        }
    ]

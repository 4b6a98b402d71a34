"""The executed notebook in the Airflow UI: a "Notebook" tab on the task instance page and an
"Output notebook" extra link to it.

Workers, the scheduler and the DAG processor import this package too (plugins and the operator's
link), so it holds only names and URL helpers; FastAPI is imported by the API server alone.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from airflow_jupyter_provider.compat import airflow_conf

#: Where the API server mounts the plugin's app (not one of Airflow's reserved prefixes).
URL_PREFIX = "/jupyter-conda"
#: The tab's route on the task instance page: ``.../tasks/<task_id>/plugin/<VIEW_ROUTE>``.
VIEW_ROUTE = "jupyter-notebook"
#: XCom key under which a task records the absolute local path of its notebook rendered to HTML
#: by the worker (``output_html``); the Notebook tab renders the notebook itself instead.
OUTPUT_HTML_XCOM_KEY = "output_html"
#: XCom key under which a task records, before its notebook starts, where the output notebook
#: goes: ``{"output_nb": <absolute local path or object storage URL>, "conn_id": <connection
#: for that storage, or None>}``. The Notebook tab renders that notebook on demand, live while
#: the task runs, if it carries the task instance's stamp (``notebook_stamp.py``).
NOTEBOOK_XCOM_KEY = "notebook"


def base_url() -> str:
    """``[api] base_url`` without its trailing slash; empty when unset (the UI is served at ``/``)."""
    conf = airflow_conf()

    return (conf.get("api", "base_url", fallback="") or "").rstrip("/")


def base_path() -> str:
    """The path part of ``[api] base_url``, which the API server serves everything under."""
    return urlsplit(base_url()).path.rstrip("/")


def task_instance_path(dag_id: str, run_id: str, task_id: str, map_index: int) -> str:
    """The UI's path of a task instance page, as the UI itself builds it."""
    path = f"/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}/tasks/{quote(task_id, safe='')}"
    return f"{path}/mapped/{map_index}" if map_index >= 0 else path

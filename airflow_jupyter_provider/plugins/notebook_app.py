"""The API server's routes of the Notebook tab: a task instance's output notebook, rendered on
demand, live while the task runs.

Imported by the API server only, on the first request (see ``notebook_view.NotebookApp``).
``/notebook/<dag>/<run>/<task>?map_index=`` is the tab (``shell_page.py``), ``.../status`` says
how the run goes, ``.../view`` is the rendered notebook, ``.../download`` the ``.ipynb`` itself.
The notebook shown is the one the task recorded in XCom (``NOTEBOOK_XCOM_KEY``) for exactly that
task instance, and only if the notebook carries that task instance's stamp (``notebook_stamp.py``);
nothing in the request names a file. Every other case is the same 404.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Any

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import requires_access_dag
from airflow.models.taskinstance import TaskInstance
from airflow.models.xcom import XComModel
from airflow.utils.state import State
from fastapi import Depends, FastAPI, Query, Response
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from airflow_jupyter_provider.notebook_stamp import task_instance_identity
from airflow_jupyter_provider.plugins import NOTEBOOK_XCOM_KEY, shell_page
from airflow_jupyter_provider.plugins.download import MEDIA_TYPE, download_name, stamped_content
from airflow_jupyter_provider.plugins.notebook_source import NotebookSource, source_of
from airflow_jupyter_provider.plugins.progress_line import progress_line
from airflow_jupyter_provider.plugins.rendered import RenderedNotebook, rendered_notebook

#: The UI fills in ``{MAP_INDEX}`` only on the page of a mapped task instance; elsewhere it stays as is.
UNMAPPED_PLACEHOLDER = "{MAP_INDEX}"
MAP_INDEX = re.compile(r"-1|0|[1-9][0-9]{0,9}")

#: The rendered notebook is shown in a frame of the tab. It may run its own inline scripts
#: (nbconvert's, and those of rich outputs), but in a sandbox of its own origin: it cannot read
#: the UI's session or call Airflow's API as the viewer, fetch anything, or be framed by another site.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'unsafe-inline'",
        "style-src 'unsafe-inline'",
        "img-src data:",
        "font-src data:",
        "media-src data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
        "sandbox allow-scripts allow-popups allow-popups-to-escape-sandbox",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-cache",
}

NOT_FOUND_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>No notebook</title>
<style>body{font-family:system-ui,sans-serif;color:#555;margin:2rem}</style></head>
<body><p>No notebook is recorded for this task instance.</p>
<p>JupyterCondaOperator tasks record one when their notebook starts.</p></body></html>
"""

#: Read access to the DAG's task logs: the notebook shows the same cell outputs the log does.
READ_TASK_LOGS = [Depends(requires_access_dag("GET", DagAccessEntity.TASK_LOGS))]


def parse_map_index(value: str) -> int | None:
    if value == UNMAPPED_PLACEHOLDER:
        return -1
    return int(value) if MAP_INDEX.fullmatch(value) else None


def task_instance_state(session: Session, identity: dict[str, Any]) -> tuple[bool, str | None]:
    """Whether the task instance exists, and its state."""
    matches = (getattr(TaskInstance, key) == value for key, value in identity.items())
    row = session.execute(select(TaskInstance.state).where(*matches)).first()
    return (False, None) if row is None else (True, None if row.state is None else str(row.state))


def recorded_source(session: Session, identity: dict[str, Any]) -> NotebookSource | None:
    """Where the notebook the task instance recorded is, if the record is well formed."""
    row = session.scalar(
        select(XComModel)
        .where(*(getattr(XComModel, key) == value for key, value in identity.items()))
        .where(XComModel.key == NOTEBOOK_XCOM_KEY)
        .limit(1)
    )
    return None if row is None else source_of(XComModel.deserialize_value(row))


def recorded_notebook(session: Session, identity: dict[str, Any]) -> RenderedNotebook | None:
    """The notebook the task instance recorded, rendered, if it is there and stamped with it."""
    source = recorded_source(session, identity)
    return None if source is None else rendered_notebook(source, identity)


def not_found() -> HTMLResponse:
    return HTMLResponse(NOT_FOUND_PAGE, status_code=404, headers=HEADERS)


@cache
def create_app() -> FastAPI:
    app = FastAPI(title="Jupyter Conda notebooks", docs_url=None, redoc_url=None, openapi_url=None)
    tab = "/notebook/{dag_id}/{run_id}/{task_id}"

    def identity_of(dag_id: str, run_id: str, task_id: str, map_index: str) -> dict[str, Any] | None:
        index = parse_map_index(map_index)
        return None if index is None else task_instance_identity(dag_id, run_id, task_id, index)

    @app.get(tab, dependencies=READ_TASK_LOGS, response_class=HTMLResponse)
    def shell(
        dag_id: str, run_id: str, task_id: str, session: SessionDep, map_index: Annotated[str, Query()] = "-1"
    ) -> Response:
        """The tab; a task instance that ended without a notebook to show is the 404."""
        if (identity := identity_of(dag_id, run_id, task_id, map_index)) is None:
            return not_found()
        exists, state = task_instance_state(session, identity)
        if not exists or (state in State.finished and recorded_notebook(session, identity) is None):
            return not_found()
        return HTMLResponse(shell_page.PAGE, headers=shell_page.HEADERS)

    @app.get(f"{tab}/status", dependencies=READ_TASK_LOGS)
    def status(
        dag_id: str, run_id: str, task_id: str, session: SessionDep, map_index: Annotated[str, Query()] = "-1"
    ) -> Response:
        """How the run goes, and the version of the notebook to show (null: none yet)."""
        if (identity := identity_of(dag_id, run_id, task_id, map_index)) is None:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        exists, state = task_instance_state(session, identity)
        if not exists:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        notebook = recorded_notebook(session, identity)
        finished = state in State.finished
        return JSONResponse(
            {
                "state": state,
                "finished": finished,
                "line": progress_line(state, finished, notebook and notebook.progress),
                "version": notebook and notebook.version,
            },
            headers={"Cache-Control": "no-store"},
        )

    @app.get(f"{tab}/view", dependencies=READ_TASK_LOGS, response_class=HTMLResponse)
    def view(
        dag_id: str, run_id: str, task_id: str, session: SessionDep, map_index: Annotated[str, Query()] = "-1"
    ) -> Response:
        """The notebook's current version, rendered (``v`` in the query only makes each version's
        URL its own)."""
        if (identity := identity_of(dag_id, run_id, task_id, map_index)) is None:
            return not_found()
        if (notebook := recorded_notebook(session, identity)) is None:
            return not_found()
        return HTMLResponse(notebook.html, headers=HEADERS)

    @app.get(f"{tab}/download", dependencies=READ_TASK_LOGS)
    def download(
        dag_id: str, run_id: str, task_id: str, session: SessionDep, map_index: Annotated[str, Query()] = "-1"
    ) -> Response:
        """The ``.ipynb`` file as papermill saved it last, to open in Jupyter."""
        if (identity := identity_of(dag_id, run_id, task_id, map_index)) is None:
            return not_found()
        source = recorded_source(session, identity)
        if source is None or (content := stamped_content(source, identity)) is None:
            return not_found()
        disposition = f'attachment; filename="{download_name(identity)}"'
        return Response(
            content, media_type=MEDIA_TYPE, headers={**HEADERS, "Content-Disposition": disposition}
        )

    return app

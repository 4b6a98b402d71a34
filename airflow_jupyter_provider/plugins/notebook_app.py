"""The API server's routes of the Notebook tab: the rendered notebook a task instance recorded.

Imported by the API server only, on the first request (see ``notebook_view.NotebookApp``).
The file served is the one the task recorded in XCom (``OUTPUT_HTML_XCOM_KEY``) for exactly that
task instance, and only if the page is stamped with that task instance (``run/render.py``);
nothing in the request names a file. Every other case is the same 404.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path
from typing import Annotated

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import requires_access_dag
from airflow.models.xcom import XComModel
from fastapi import Depends, FastAPI, Query, Response
from fastapi.responses import FileResponse, HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from airflow_jupyter_provider.plugins import OUTPUT_HTML_XCOM_KEY
from airflow_jupyter_provider.run.render import owner_of

#: The UI fills in ``{MAP_INDEX}`` only on the page of a mapped task instance; elsewhere it stays as is.
UNMAPPED_PLACEHOLDER = "{MAP_INDEX}"
MAP_INDEX = re.compile(r"-1|0|[1-9][0-9]{0,9}")

#: Notebook HTML is shown in an iframe of the UI. It may run its own inline scripts (nbconvert's,
#: and those of rich outputs), but in a sandbox of its own origin: it cannot read the UI's session
#: or call Airflow's API as the viewer, fetch anything, or be framed by another site.
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
<body><p>No rendered notebook is recorded for this task instance.</p>
<p>JupyterCondaOperator tasks record one when their notebook run ends.</p></body></html>
"""


def recorded_notebook(
    session: Session, *, dag_id: str, run_id: str, task_id: str, map_index: int
) -> Path | None:
    """The rendered notebook the task instance recorded, if it is an HTML file that still exists."""
    row = session.scalar(
        select(XComModel)
        .where(
            XComModel.dag_id == dag_id,
            XComModel.run_id == run_id,
            XComModel.task_id == task_id,
            XComModel.map_index == map_index,
            XComModel.key == OUTPUT_HTML_XCOM_KEY,
        )
        .limit(1)
    )
    if row is None:
        return None
    recorded = XComModel.deserialize_value(row)
    if not isinstance(recorded, str) or not os.path.isabs(recorded):
        return None
    # The record names the file; a symlink in it must not lead to anything but an HTML file.
    path = Path(os.path.realpath(recorded))
    if path.suffix.lower() != ".html" or not path.is_file():
        return None
    # XComs can be written through the REST API; the page itself says whose it is.
    owner = {"dag_id": dag_id, "run_id": run_id, "task_id": task_id, "map_index": map_index}
    return path if owner_of(path) == owner else None


def parse_map_index(value: str) -> int | None:
    if value == UNMAPPED_PLACEHOLDER:
        return -1
    return int(value) if MAP_INDEX.fullmatch(value) else None


def not_found() -> HTMLResponse:
    return HTMLResponse(NOT_FOUND_PAGE, status_code=404, headers=HEADERS)


@cache
def create_app() -> FastAPI:
    app = FastAPI(title="Jupyter Conda notebooks", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get(
        "/notebook/{dag_id}/{run_id}/{task_id}",
        # Read access to the DAG's task logs: the notebook shows the same cell outputs the log does.
        dependencies=[Depends(requires_access_dag("GET", DagAccessEntity.TASK_LOGS))],
        response_class=HTMLResponse,
    )
    def notebook(
        dag_id: str,
        run_id: str,
        task_id: str,
        session: SessionDep,
        map_index: Annotated[str, Query()] = "-1",
    ) -> Response:
        index = parse_map_index(map_index)
        if index is None:
            return not_found()
        path = recorded_notebook(session, dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=index)
        if path is None:
            return not_found()
        return FileResponse(path, media_type="text/html; charset=utf-8", headers=HEADERS)

    return app

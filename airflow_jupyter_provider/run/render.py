"""The executed notebook as HTML, rendered by nbconvert in the worker's own Python: the
user's environment needs no nbconvert, and every run renders the same way."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_NOTEBOOK_SUFFIX = re.compile(r"\.ipynb$", re.IGNORECASE)

#: A rendered notebook names the task instance it belongs to in this ``<meta>`` tag. The UI's
#: Notebook tab serves a recorded file only to the task instance it names: an XCom record
#: pointing at another task's notebook (XComs can be written through the REST API) gets nothing.
OWNER_META_NAME = "airflow-task-instance"
_OWNER_META = re.compile(rf'<meta name="{OWNER_META_NAME}" content="([^"]*)">')
#: The tag goes right after ``<head>``: this many bytes from the start always hold it.
_OWNER_META_WITHIN = 4096


def names_html_file(location: str) -> bool:
    """Whether ``location`` ends in ``.html``: the UI's Notebook tab serves no other file."""
    return location.lower().endswith(".html")


def html_location_for(output_nb: str) -> str:
    """Where the HTML of ``output_nb`` goes by default: beside it, ``.ipynb`` -> ``.html``."""
    return _NOTEBOOK_SUFFIX.sub("", output_nb) + ".html"


def render_html(output_nb: str, output_html: Path, owner: Mapping[str, Any] | None = None) -> None:
    """Render the notebook at ``output_nb`` (a path or papermill I/O URL) into ``output_html``.

    Outputs, error tracebacks included, are rendered as Jupyter shows them; images are kept
    inline, so the file stands on its own. ``owner`` (dag_id, run_id, task_id, map_index) is
    stamped into the page for :func:`owner_of`.
    """
    from papermill.iorw import load_notebook_node

    write_html(load_notebook_node(output_nb), output_nb, output_html, owner)


def write_html(notebook: Any, output_nb: str, output_html: Path, owner: Mapping[str, Any] | None) -> None:
    """:func:`render_html` of ``notebook`` (an nbformat notebook, read from ``output_nb``),
    already loaded. JSON outputs are changed to show as text: call it last."""
    from nbconvert import HTMLExporter

    _show_json_outputs(notebook)
    title = {"metadata": {"name": _NOTEBOOK_SUFFIX.sub("", output_nb.rsplit("/", 1)[-1])}}
    body, _ = HTMLExporter().from_notebook_node(notebook, resources=title)
    if owner is not None:
        content = html.escape(json.dumps(dict(owner), sort_keys=True), quote=True)
        body = body.replace("<head>", f'<head>\n<meta name="{OWNER_META_NAME}" content="{content}">', 1)
    output_html.parent.mkdir(parents=True, exist_ok=True)
    partial = output_html.with_name(f".{output_html.name}.partial")
    partial.write_text(body, encoding="utf-8")
    partial.replace(output_html)  # whoever serves the file never sees half of it


def _show_json_outputs(notebook: Any) -> None:
    """Show JSON outputs (``display(JSON(...))``, a ``results`` cell's) as indented JSON text.

    nbconvert's HTML has no view of JSON and falls back to the ``<IPython...JSON object>`` repr.
    """
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "application/json" in data:
                data["text/plain"] = json.dumps(data["application/json"], indent=2, ensure_ascii=False)


def owner_of(rendered: Path) -> dict[str, Any] | None:
    """The task instance a rendered notebook was stamped with, or None for any other file."""
    with rendered.open("rb") as page:
        start = page.read(_OWNER_META_WITHIN).decode("utf-8", errors="replace")
    if (found := _OWNER_META.search(start)) is None:
        return None
    try:
        owner = json.loads(html.unescape(found.group(1)))
    except ValueError:
        return None
    return owner if isinstance(owner, dict) else None

"""A notebook as HTML: the one place that turns a notebook into a page, for the API server's
Notebook tab (on demand) and for the worker's explicit ``output_html`` file. nbconvert runs in
the provider's own Python: the user's environment needs no nbconvert, and every page renders
the same way."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_jupyter_provider.run.output_files import OutputFiles

_NOTEBOOK_SUFFIX = re.compile(r"\.ipynb$", re.IGNORECASE)


def names_html_file(location: str) -> bool:
    """Whether ``location`` ends in ``.html``: ``output_html`` names no other file."""
    return location.lower().endswith(".html")


def html_location_for(output_nb: str) -> str:
    """Where the HTML of ``output_nb`` goes by default: beside it, ``.ipynb`` -> ``.html``."""
    return _NOTEBOOK_SUFFIX.sub("", output_nb) + ".html"


def notebook_title(location: str) -> str:
    """The page title of the notebook at ``location``: its file name without ``.ipynb``."""
    return _NOTEBOOK_SUFFIX.sub("", location.rsplit("/", 1)[-1])


def notebook_html(notebook: Any, title: str) -> str:
    """``notebook`` (an nbformat notebook) as a page that stands on its own: outputs, error
    tracebacks included, as Jupyter shows them, images inline. JSON outputs are changed to show
    as text: call it last on a notebook that is read for anything else."""
    from nbconvert import HTMLExporter

    _show_json_outputs(notebook)
    body, _ = HTMLExporter().from_notebook_node(notebook, resources={"metadata": {"name": title}})
    return body


def render_html(output_nb: str, output_html: Path) -> None:
    """Render the notebook at ``output_nb`` (a path or papermill I/O URL) into ``output_html``."""
    from papermill.iorw import load_notebook_node

    from airflow_jupyter_provider.run.output_files import OutputFiles

    write_html(load_notebook_node(output_nb), output_nb, output_html, OutputFiles())


def write_html(notebook: Any, output_nb: str, output_html: Path, files: OutputFiles) -> None:
    """:func:`render_html` of ``notebook`` (an nbformat notebook, read from ``output_nb``),
    already loaded (see :func:`notebook_html`: call it last), written whole by ``files``."""
    files.write(output_html, notebook_html(notebook, notebook_title(output_nb)))


def _show_json_outputs(notebook: Any) -> None:
    """Show JSON outputs (``display(JSON(...))``, a ``results`` cell's) as indented JSON text.

    nbconvert's HTML has no view of JSON and falls back to the ``<IPython...JSON object>`` repr.
    """
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "application/json" in data:
                data["text/plain"] = json.dumps(data["application/json"], indent=2, ensure_ascii=False)

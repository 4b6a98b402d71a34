"""The executed notebook as HTML, rendered by nbconvert in the worker's own Python: the
user's environment needs no nbconvert, and every run renders the same way."""

from __future__ import annotations

import re
from pathlib import Path

_NOTEBOOK_SUFFIX = re.compile(r"\.ipynb$", re.IGNORECASE)


def html_location_for(output_nb: str) -> str:
    """Where the HTML of ``output_nb`` goes by default: beside it, ``.ipynb`` -> ``.html``."""
    return _NOTEBOOK_SUFFIX.sub("", output_nb) + ".html"


def render_html(output_nb: str, output_html: Path) -> None:
    """Render the notebook at ``output_nb`` (a path or papermill I/O URL) into ``output_html``.

    Outputs, error tracebacks included, are rendered as Jupyter shows them; images are kept
    inline, so the file stands on its own.
    """
    from nbconvert import HTMLExporter
    from papermill.iorw import load_notebook_node

    body, _ = HTMLExporter().from_notebook_node(load_notebook_node(output_nb))
    output_html.parent.mkdir(parents=True, exist_ok=True)
    partial = output_html.with_name(f".{output_html.name}.partial")
    partial.write_text(body, encoding="utf-8")
    partial.replace(output_html)  # whoever serves the file never sees half of it

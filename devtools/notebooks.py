"""Small notebooks for the tests and the benchmarks."""

from __future__ import annotations

from pathlib import Path

import nbformat


def tagged(source: str, *tags: str) -> nbformat.NotebookNode:
    """A code cell with ``tags`` (``results``, ``skip-execution``, ...) for :func:`write_notebook`."""
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = list(tags)
    return cell


def write_notebook(
    path: Path, parameters_source: str, *cells: str | nbformat.NotebookNode, kernel: str = "python3"
) -> Path:
    """A notebook with a ``parameters``-tagged cell followed by ``cells`` (sources or cells)."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        tagged(parameters_source, "parameters"),
        *(nbformat.v4.new_code_cell(cell) if isinstance(cell, str) else cell for cell in cells),
    ]
    notebook.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path

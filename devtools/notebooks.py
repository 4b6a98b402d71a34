"""Small notebooks for the tests and the benchmarks."""

from __future__ import annotations

from pathlib import Path

import nbformat


def write_notebook(path: Path, parameters_source: str, *cells: str, kernel: str = "python3") -> Path:
    """A notebook with a ``parameters``-tagged cell followed by ``cells``."""
    notebook = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell(parameters_source)
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [parameters, *(nbformat.v4.new_code_cell(source) for source in cells)]
    notebook.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path

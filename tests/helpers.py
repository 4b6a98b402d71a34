"""Notebooks for tests, and reading back what papermill injected into them."""

from __future__ import annotations

import ast
import tarfile
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


def injected_parameters(output_nb: Path) -> dict:
    """The values papermill injected into ``output_nb``, read back as Python literals."""
    notebook = nbformat.read(output_nb, as_version=4)
    cell = next(c for c in notebook.cells if "injected-parameters" in c.metadata.get("tags", []))
    values = {}
    for statement in ast.parse(cell.source).body:
        assert isinstance(statement, ast.Assign), ast.dump(statement)
        values[statement.targets[0].id] = ast.literal_eval(statement.value)
    return values


def tar_member(
    name: str, *, kind: bytes = tarfile.REGTYPE, target: str = "", mode: int = 0o644
) -> tarfile.TarInfo:
    """A tar member of any kind (file, link, device, FIFO), for archives made by hand."""
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, target, mode
    return info

"""Notebooks for tests, and reading back what papermill injected into them."""

from __future__ import annotations

import ast
import tarfile
from pathlib import Path

import nbformat

from devtools.notebooks import write_notebook

__all__ = ["injected_parameters", "tar_member", "write_notebook"]


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

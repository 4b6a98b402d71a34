"""Reading a notebook as papermill will, and asking papermill what its ``parameters`` cell declares.

nbformat and papermill are imported by the functions that use them: the pytest plugin imports
this package in every test session of a project that installs the provider.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_jupyter_provider.testing.findings import one_line

#: Default values (source text, as papermill's inspection gives them) that mean "no real default".
NO_DEFAULT_TEXTS = frozenset({"", "None", '""', "''"})


class NotebookError(Exception):
    """The notebook cannot be read or inspected; the message says why, in one line."""


@dataclass(frozen=True)
class Declared:
    """A parameter the ``parameters`` cell declares, with its default as source text."""

    name: str
    default: str

    @property
    def has_default(self) -> bool:
        return self.default not in NO_DEFAULT_TEXTS


@dataclass(frozen=True)
class Notebook:
    """A notebook read from disk and checked against the nbformat schema."""

    path: Path
    node: Any  # nbformat.NotebookNode

    @property
    def kernel_name(self) -> str | None:
        """The kernel papermill starts when the task names none (``metadata.kernelspec.name``)."""
        return self.node.metadata.get("kernelspec", {}).get("name") or None

    @property
    def language(self) -> str | None:
        """The notebook's language, where papermill looks for it (``language_info``, then the kernelspec)."""
        metadata = self.node.metadata
        return metadata.get("language_info", {}).get("name") or metadata.get("kernelspec", {}).get("language")

    @property
    def parameters_cell(self) -> Any | None:
        """The first cell tagged ``parameters``, the one papermill injects after."""
        return next((c for c in self.node.cells if "parameters" in c.metadata.get("tags", [])), None)


def read_notebook(path: Path) -> Notebook:
    """The notebook at ``path``; NotebookError if there is none or it is not a valid notebook."""
    import nbformat

    if not path.is_file():
        raise NotebookError(f"no notebook at '{path}'")
    try:
        node = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        nbformat.validate(node)
    # nbformat raises many kinds of errors on malformed files (ValueError, AttributeError,
    # jsonschema's ValidationError, ...); each one means papermill cannot run the file either.
    except Exception as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise NotebookError(f"'{path}' is not a valid notebook: {one_line(reason)}") from err
    return Notebook(path, node)


def declared_parameters(notebook: Notebook, kernel_name: str | None) -> dict[str, Declared] | None:
    """What the ``parameters`` cell declares, by papermill's own inspection; None if there is no such cell.

    papermill picks the translator from the kernel and the notebook's language, as it does
    when it injects the parameters. It skips a line with more than one ``=`` (``opts =
    dict(a=1)``); for Python cells such names still count as declared when the cell assigns
    them, so that a parameter papermill does inject is never reported as unknown.

    :raises NotebookError: papermill cannot inspect this notebook's language.
    """
    from papermill.exceptions import PapermillException
    from papermill.translators import papermill_translators
    from papermill.utils import nb_language

    cell = notebook.parameters_cell
    if cell is None:
        return None
    try:
        language = nb_language(notebook.node)
        translator = papermill_translators.find_translator(kernel_name, language)
        inspected = translator.inspect(cell)
    except (ValueError, PapermillException, NotImplementedError) as err:
        reason = one_line(str(err))
        raise NotebookError(
            f"papermill cannot inspect the parameters cell of '{notebook.path}': {reason}"
        ) from err
    declared = {parameter.name: Declared(parameter.name, parameter.default) for parameter in inspected}
    if language == "python":
        for name, default in python_assignments(cell.source).items():
            declared.setdefault(name, Declared(name, default))
    return declared


def python_assignments(source: str) -> dict[str, str]:
    """Name -> default (source text, "" for a bare annotation) of a Python cell's top-level assignments.

    Empty when the cell is not plain Python (IPython magics): papermill's inspection stands alone then.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    assignments = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign):
            targets, value = [statement.target], statement.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                assignments[target.id] = ast.unparse(value) if value is not None else ""
    return assignments

"""A DAG's ``params`` read from its notebook's ``parameters`` cell, so the trigger form is written
once, in the notebook: ``days = 7  # Days to forecast`` is ``Param(7, type="integer",
description="Days to forecast")``.

The cell is read as papermill's inspection reads it (names, defaults, the trailing comment of a
parameter's last line as its help) but without papermill: this runs at every DAG parse. The
notebook is read as JSON and the cell parsed with ``ast``; nothing in it runs.
"""

from __future__ import annotations

import ast
import io
import json
import os
import re
import sys
import tokenize
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow.sdk import Param

from airflow_jupyter_provider.exceptions import JupyterCondaError
from airflow_jupyter_provider.locations import local_path

#: The JSON-schema type of each type of default a JSON value has (a tuple is made a list).
SCHEMA_TYPES = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}
#: The type a ``None`` default gets from its annotation (``int | None``, ``Optional[int]``, ``int``).
ANNOTATION_TYPES = {
    "bool": "boolean",
    "int": "integer",
    "float": "number",
    "str": "string",
    "list": "array",
    "dict": "object",
}
#: ``# type: int`` before a parameter's help, which papermill reads as its type.
TYPE_COMMENT = re.compile(r"^type:\s*\S*\s*")
#: A ``None`` default without an annotation that says more: a text field that may be left empty.
NULLABLE_DEFAULT = "string"


class NotebookParamsError(JupyterCondaError, ValueError):
    """The notebook cannot give the DAG its params (a ValueError too: DAG parsing shows it)."""


def notebook_params(
    notebook: str | os.PathLike[str], overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Param]:
    """One ``Param`` for each parameter of ``notebook``'s ``parameters`` cell, for ``DAG(params=...)``.

    A relative ``notebook`` path starts from the folder of the DAG file that calls this, as the
    operator's ``input_nb`` does.
    ``overrides`` maps a parameter's name to more ``Param`` keywords (``minimum``, ``enum``,
    ``items``, ``description``, ``type``, ``default``), which win over what the cell says.
    """
    caller_file = sys._getframe(1).f_globals.get("__file__")
    base_dir = Path(os.path.abspath(caller_file)).parent if caller_file else Path.cwd()
    path = local_path(os.fspath(notebook), base_dir)
    found = _parameters(path)
    overrides = dict(overrides or {})
    if unknown := sorted(set(overrides) - set(found)):
        raise NotebookParamsError(
            f"overrides name {', '.join(map(repr, unknown))}, which the parameters cell of {path} does not "
            f"assign; its parameters: {', '.join(found) or 'none'}"
        )
    return {name: _param(path, parameter, overrides.get(name, {})) for name, parameter in found.items()}


@dataclass(frozen=True)
class _Parameter:
    """One assignment of the parameters cell: its name, default's expression, annotation and help."""

    name: str
    value: ast.expr
    annotation: str
    help: str


def _parameters(path: Path) -> dict[str, _Parameter]:
    source = _parameters_cell(path)
    try:
        body = ast.parse(source).body
    except SyntaxError as err:
        raise NotebookParamsError(
            f"the parameters cell of {path} is not Python papermill can inject after: line {err.lineno}: "
            f"{err.msg}"
        ) from err
    comments = _comments(source)
    found = {}
    for node in body:
        if (name := _assigned_name(node)) is not None:
            annotation = "" if isinstance(node, ast.Assign) else ast.unparse(node.annotation)
            found[name] = _Parameter(name, node.value, annotation, comments.get(node.end_lineno, ""))
    return found


def _parameters_cell(path: Path) -> str:
    try:
        notebook = json.loads(path.read_bytes())
    except OSError as err:
        raise NotebookParamsError(f"cannot read the notebook {path}: {err.strerror or err}") from err
    except ValueError as err:
        raise NotebookParamsError(f"{path} is no notebook: it is not JSON ({err})") from err
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise NotebookParamsError(f"{path} is no notebook: it has no list of cells")
    for cell in cells:
        if isinstance(cell, dict) and "parameters" in cell.get("metadata", {}).get("tags", []):
            source = cell.get("source", "")
            return "".join(source) if isinstance(source, list) else str(source)
    raise NotebookParamsError(
        f"{path} has no parameters cell: tag the cell that assigns the defaults 'parameters' "
        "(papermill injects the run's values after it)"
    )


def _assigned_name(node: ast.stmt) -> str | None:
    """``name`` of ``name = value`` or ``name: annotation = value``, as papermill finds them."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id
    if isinstance(node, ast.AnnAssign) and node.value is not None and isinstance(node.target, ast.Name):
        return node.target.id
    return None


def _comments(source: str) -> dict[int, str]:
    """Line number -> the text of the comment that ends the line, a ``type:`` comment left out
    (papermill's help)."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return {
        token.start[0]: TYPE_COMMENT.sub("", token.string.lstrip("#").strip())
        for token in tokens
        if token.type == tokenize.COMMENT
    }


def _param(path: Path, parameter: _Parameter, override: Mapping[str, Any]) -> Param:
    if not isinstance(override, Mapping):
        raise NotebookParamsError(
            f"overrides[{parameter.name!r}] must be a mapping of Param keywords (say {{'minimum': 1}}), "
            f"not {override!r}"
        )
    schema = dict(override)
    default = schema.pop("default") if "default" in schema else _default(path, parameter)
    if "type" not in schema:
        schema["type"] = _schema_type(path, parameter, default)
    schema.setdefault("description", parameter.help or None)
    return Param(default, **schema)


def _default(path: Path, parameter: _Parameter) -> Any:
    name = parameter.name
    try:
        value = ast.literal_eval(parameter.value)
    except ValueError:
        raise NotebookParamsError(
            f"parameter {name!r} of {path} defaults to {ast.unparse(parameter.value)}, which is no literal "
            f"value a trigger form can show; give one in the cell, or in overrides: "
            f"{{{name!r}: {{'default': ...}}}}"
        ) from None
    value = list(value) if isinstance(value, tuple) else value
    try:
        json.dumps(value)
    except TypeError:
        raise NotebookParamsError(
            f"parameter {name!r} of {path} defaults to {value!r}, which is no JSON value; give one in "
            f"the cell, or in overrides: {{{name!r}: {{'default': ...}}}}"
        ) from None
    return value


def _schema_type(path: Path, parameter: _Parameter, default: Any) -> str | list[str]:
    """The type of ``default``; for None, null or the type the annotation names."""
    if default is None:
        words = re.findall(r"\w+", parameter.annotation)
        return [
            "null",
            next((ANNOTATION_TYPES[word] for word in words if word in ANNOTATION_TYPES), NULLABLE_DEFAULT),
        ]
    if (kind := SCHEMA_TYPES.get(type(default))) is None:
        raise NotebookParamsError(
            f"overrides[{parameter.name!r}] gives parameter {parameter.name!r} of {path} the default "
            f"{default!r}, which has no JSON-schema type: give a JSON value, or its 'type' too"
        )
    return kind

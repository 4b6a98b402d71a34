"""``parameters``: a dict or JSON text whose values keep their JSON types into the notebook."""

from __future__ import annotations

import json
import keyword
from pathlib import Path
from typing import Any

JSON_SCALARS = (str, int, float, bool, type(None))


def parse_parameters(value: Any) -> dict[str, Any]:
    """Return the parameters as a dict; raise ValueError naming ``parameters`` and the bad part."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise ValueError(f"parameters: invalid JSON text {value!r}: {err}") from err
    if not isinstance(value, dict):
        raise ValueError(f"parameters must be a dict or a JSON object, got {type(value).__name__} {value!r}")
    for name, item in value.items():
        # Names become assignments in the injected cell: only identifiers, so a name can
        # never carry code into the notebook.
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f"parameters: name {name!r} is not a valid variable name")
        _check_json_value(item, f"parameters[{name!r}]")
    return value


def _check_json_value(value: Any, where: str) -> None:
    if isinstance(value, JSON_SCALARS):
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_json_value(item, f"{where}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: key {key!r} is not a string")
            _check_json_value(item, f"{where}[{key!r}]")
        return
    raise ValueError(
        f"{where} = {value!r} has type {type(value).__name__}; use str, int, float, bool, None, list or dict"
    )


def write_parameters_file(parameters: dict[str, Any], path: Path) -> Path:
    """Write ``parameters`` as YAML for papermill's ``--parameters_file``.

    YAML written by PyYAML is read back by papermill's PyYAML with every type intact, and a
    file keeps values of any size or content away from the command line.
    """
    import yaml

    path.write_text(yaml.safe_dump(parameters, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path

"""``requirements``: the lines a task layers on its environment, checked as PEP 508 requirements.

A task gives a list of lines or the path of a requirements file. Either way the lines pass one
rule: blank lines and comments go, every other line is a PEP 508 requirement (``pandas>=2``,
``requests[socks]``, ``tomli; python_version < "3.11"``), normalized (name lower-cased,
spacing as ``packaging`` writes it), so the same requirements written two ways name the same
layer. Installer options (``-r``, ``--index-url``, ...) are refused: the package index is the
worker's (its pip or uv configuration, or the ``jupyter_conda`` connection's extras).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow_jupyter_provider.locations import local_path


def requirement_lines(value: Any, base_dir: Path) -> tuple[str, ...]:
    """The normalized requirements ``value`` gives: a list of lines, or a file's path (relative:
    from ``base_dir``, the DAG file's folder).

    :raises ValueError: naming the argument, the line or the file.
    """
    if isinstance(value, str):
        path = local_path(value, base_dir)
        try:
            text = path.read_text()
        except OSError as err:
            raise ValueError(
                f"requirements: cannot read the requirements file '{value}' ({path}): {err.strerror}"
            ) from None
        return normalized(text.splitlines(), f"requirements file '{value}'")
    if isinstance(value, Sequence) and all(isinstance(line, str) for line in value):
        return normalized(value, "requirements")
    raise ValueError(
        f"requirements must be a list of requirement lines or the path of a requirements file, got {value!r}"
    )


def normalized(lines: Sequence[str], where: str) -> tuple[str, ...]:
    """``lines`` without blanks and comments, each a normalized PEP 508 requirement, sorted."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    requirements = set()
    for number, line in enumerate(lines, 1):
        text = line.split(" #", 1)[0].strip() if not line.lstrip().startswith("#") else ""
        if not text:
            continue
        if text.startswith("-"):
            raise ValueError(
                f"{where}, line {number}: {text!r} is an installer option; requirements take "
                "PEP 508 lines only, and the package index comes from the worker's pip or uv "
                "configuration or the jupyter_conda connection's extras (index_url, "
                "extra_index_urls, find_links, trusted_host)"
            )
        try:
            requirement = Requirement(text)
        except InvalidRequirement as err:
            reason = str(err).splitlines()[0]  # packaging repeats the line below, marked
            raise ValueError(
                f"{where}, line {number}: {text!r} is not a PEP 508 requirement: {reason}"
            ) from None
        requirement.name = canonicalize_name(requirement.name)
        requirements.add(str(requirement))
    return tuple(sorted(requirements))

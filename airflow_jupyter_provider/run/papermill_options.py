"""The rules of the operator's arguments that become papermill options (``others`` and the
timeouts), and what papermill's own options mean: below both the run (``request.py``), which
checks its arguments by these rules, and the argument vector (``papermill_args.py``)."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

#: papermill options that have an operator argument of their own.
OPTIONS_WITH_ARGUMENTS: dict[str, str] = {
    "-k": "kernel",
    "--kernel": "kernel",
    "--engine": "engine",
    "--execution-timeout": "jupyter_execution_timeout",
    "--start-timeout": "jupyter_start_timeout",
    **dict.fromkeys(
        [
            "-p",
            "--parameters",
            "-r",
            "--parameters_raw",
            "-f",
            "--parameters_file",
            "-y",
            "--parameters_yaml",
            "-b",
            "--parameters_base64",
        ],
        "parameters",
    ),
}


#: papermill options that add the input notebook's path, the output's, or both, to the
#: parameters it injects.
INJECTS_INPUT_PATH = ("--inject-input-path", "--inject-paths")
INJECTS_OUTPUT_PATH = ("--inject-output-path", "--inject-paths")
INJECT_PATH_OPTIONS = (*INJECTS_INPUT_PATH, "--inject-output-path")


def injects_parameters(parameters: dict[str, Any], others: Sequence[str]) -> bool:
    """Whether papermill adds its injected-parameters cell: when it has anything to inject."""
    return bool(parameters) or any(word in INJECT_PATH_OPTIONS for word in others)


def split_others(others: str | Sequence[str] | None) -> list[str]:
    """``others`` as a list of words: text is split as a shell splits words (no shell runs)."""
    if others is None:
        return []
    if isinstance(others, str):
        try:
            words = shlex.split(others)
        except ValueError as err:
            raise ValueError(f"others: cannot split {others!r} into words: {err}") from err
    elif isinstance(others, list | tuple) and all(isinstance(word, str) for word in others):
        words = list(others)
    else:
        raise ValueError(f"others must be a string or a list of strings, got {others!r}")
    for word in words:
        argument = OPTIONS_WITH_ARGUMENTS.get(word.split("=", 1)[0])
        if argument:
            raise ValueError(f"others: {word!r} is set through the operator argument '{argument}' instead")
    return words


def whole_seconds(argument: str, value: Any) -> int | None:
    """A positive whole number of seconds for papermill's timeouts, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{argument}={value!r} must be a whole number of seconds greater than 0")
    return value

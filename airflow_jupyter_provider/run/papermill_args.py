"""What papermill is told: the notebooks' locations and the argument vector (the operator's
arguments first, ``others`` after them)."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_jupyter_provider.exceptions import RunFailed
from airflow_jupyter_provider.locations import is_local, local_path
from airflow_jupyter_provider.run.output_files import OutputFiles

if TYPE_CHECKING:
    from airflow_jupyter_provider.run.request import NotebookRun

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


#: papermill options that add the notebook's own paths to the parameters it injects.
INJECT_PATH_OPTIONS = ("--inject-input-path", "--inject-output-path", "--inject-paths")


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


@dataclass(frozen=True)
class PapermillCommand:
    """Everything papermill is told, as values; :meth:`argv` lays them out as arguments."""

    input_nb: str
    output_nb: str
    parameters_file: Path | None = None
    kernel: str | None = None
    engine: str | None = None
    execution_timeout: int | None = None
    start_timeout: int | None = None
    others: list[str] = field(default_factory=list)

    def argv(self) -> list[str]:
        args = ["--log-output", "--no-progress-bar"]
        if self.parameters_file is not None:
            args += ["--parameters_file", str(self.parameters_file)]
        if self.kernel:
            args += ["--kernel", self.kernel]
        if self.engine:
            args += ["--engine", self.engine]
        if self.execution_timeout is not None:
            args += ["--execution-timeout", str(self.execution_timeout)]
        if self.start_timeout is not None:
            args += ["--start-timeout", str(self.start_timeout)]
        # '--' ends the options, so a notebook path that starts with '-' stays a path.
        return [*args, *self.others, "--", _literal_path(self.input_nb), _literal_path(self.output_nb)]


def _literal_path(location: str) -> str:
    """Escape braces: papermill runs ``str.format(**parameters)`` on both notebook paths, and
    here paths are already final (Jinja is the templating layer)."""
    return location.replace("{", "{{").replace("}", "}}")


@dataclass(frozen=True)
class Locations:
    """Where papermill reads the notebook and writes the executed one: local paths made absolute."""

    input: str
    output: str

    @classmethod
    def of(cls, run: NotebookRun) -> Locations:
        """The run's locations; the output's local folder is created.

        :raises RunFailed: no notebook at a local ``input_nb`` (retryable: it may appear).
        """
        input_nb, output_nb = cls.input_of(run), cls.output_of(run)
        if is_local(input_nb) and not Path(input_nb).is_file():
            raise RunFailed(f"input_nb: no notebook at '{input_nb}'", retryable=True)
        if is_local(output_nb):
            OutputFiles(run.tenant).make_folder(Path(output_nb).parent)
        return cls(input_nb, output_nb)

    @staticmethod
    def input_of(run: NotebookRun) -> str:
        """Where the input notebook is read: an absolute local path, or the URL as given."""
        return str(local_path(run.input_nb, run.base_dir)) if is_local(run.input_nb) else run.input_nb

    @staticmethod
    def output_of(run: NotebookRun) -> str:
        """Where the output notebook goes: an absolute local path, or the URL as given."""
        return str(local_path(run.output_nb, run.base_dir)) if is_local(run.output_nb) else run.output_nb


def papermill_command(
    run: NotebookRun, where: Locations, reads: str, writes: str, parameters_file: Path | None
) -> PapermillCommand:
    """Everything papermill is told for ``run``: it ``reads`` and ``writes`` these notebooks
    (``where``'s, or the worker's copies of them); the kernel starts in the input notebook's
    own folder, as Jupyter starts it, unless ``others`` says ``--cwd``."""
    others = list(run.others)
    if is_local(where.input) and not any(word.split("=", 1)[0] == "--cwd" for word in others):
        others = ["--cwd", str(Path(where.input).parent), *others]
    return PapermillCommand(
        input_nb=reads,
        output_nb=writes,
        parameters_file=parameters_file,
        kernel=run.kernel,
        engine=run.engine,
        execution_timeout=run.execution_timeout,
        start_timeout=run.start_timeout,
        others=others,
    )

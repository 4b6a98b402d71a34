"""What papermill is told: the notebooks' locations and the argument vector (the operator's
arguments first, ``others`` after them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_jupyter_provider.exceptions import RunFailed
from airflow_jupyter_provider.locations import is_local, local_path
from airflow_jupyter_provider.run.output_files import OutputFiles

if TYPE_CHECKING:
    from airflow_jupyter_provider.run.request import NotebookRun


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

"""JupyterCondaHook: activate a conda environment on the worker and run papermill in it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowNotFoundException

from airflow_jupyter_provider import DEFAULT_CONDA_PATH
from airflow_jupyter_provider.environments import CondaEnvError, resolve_environment
from airflow_jupyter_provider.execution.process import StreamedProcess
from airflow_jupyter_provider.execution.statuses import ENVIRONMENT_FAILURES
from airflow_jupyter_provider.locations import is_local, local_path
from airflow_jupyter_provider.notebook.command import PapermillCommand, split_others
from airflow_jupyter_provider.notebook.failure import describe_failed_cell
from airflow_jupyter_provider.notebook.parameters import parse_parameters, write_parameters_file

RUN_NOTEBOOK_SCRIPT = Path(__file__).parent.parent / "execution" / "run_notebook.sh"


class JupyterCondaHook(BaseHook):
    """
    Run a notebook with papermill inside a conda environment on this worker.

    The connection (type ``jupyter_conda``) is optional; its extra ``conda_path`` names the
    ``conda.sh`` that activates named environments (default
    ``/opt/anaconda3/etc/profile.d/conda.sh``). A packed environment needs no conda at all.

    :param jupyter_conda_conn_id: connection id; a missing default connection means defaults.
    """

    conn_name_attr = "jupyter_conda_conn_id"
    default_conn_name = "jupyter_conda_default"
    conn_type = "jupyter_conda"
    hook_name = "Jupyter Conda"

    def __init__(self, jupyter_conda_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.jupyter_conda_conn_id = jupyter_conda_conn_id
        self._process: StreamedProcess | None = None
        self._stop_requested = False

    @cached_property
    def conda_path(self) -> str:
        """The ``conda.sh`` to source, from the connection's extra or the default."""
        try:
            conn = self.get_connection(self.jupyter_conda_conn_id)
        except AirflowNotFoundException:
            if self.jupyter_conda_conn_id != self.default_conn_name:
                raise
            return DEFAULT_CONDA_PATH
        return conn.extra_dejson.get("conda_path") or DEFAULT_CONDA_PATH

    def run_notebook(
        self,
        *,
        input_nb: str,
        output_nb: str,
        conda_env: str,
        parameters: dict[str, Any] | str | None = None,
        kernel: str | None = None,
        engine: str | None = None,
        execution_timeout: int | None = None,
        start_timeout: int | None = None,
        others: str | Sequence[str] | None = None,
        base_dir: str | Path | None = None,
    ) -> str:
        """
        Execute ``input_nb`` into ``output_nb`` in ``conda_env``; return ``output_nb``.

        Every line papermill and the notebook's cells print goes to this hook's log as it
        comes. Relative local paths are taken from ``base_dir`` (default: the current folder).

        :raises AirflowFailException: the environment cannot run the notebook; a retry won't help.
        :raises AirflowException: the notebook failed (the partial output notebook is kept).
        """
        base = Path(base_dir) if base_dir is not None else Path.cwd()
        try:
            for name, value in (("input_nb", input_nb), ("output_nb", output_nb)):
                if not isinstance(value, str) or not value.strip():
                    raise ValueError(f"{name} must be a non-empty string, got {value!r}")
            environment = resolve_environment(conda_env, base)
            parameters = parse_parameters(parameters)
            others = split_others(others)
        except (CondaEnvError, ValueError) as err:
            raise AirflowFailException(str(err)) from err
        input_location = self._input_location(input_nb, base)
        output_location = self._output_location(output_nb, base)

        with tempfile.TemporaryDirectory(prefix="jupyter-conda-") as workdir:
            try:
                activation = environment.activation_args(Path(workdir), self.conda_path, self.log)
            except CondaEnvError as err:
                raise (AirflowException if err.retryable else AirflowFailException)(str(err)) from err
            command = PapermillCommand(
                input_nb=input_location,
                output_nb=output_location,
                parameters_file=write_parameters_file(parameters, Path(workdir, "parameters.yaml")),
                kernel=kernel,
                engine=engine,
                execution_timeout=execution_timeout,
                start_timeout=start_timeout,
                others=self._with_kernel_cwd(others, input_location),
            )
            argv = ["bash", str(RUN_NOTEBOOK_SCRIPT), *activation, "--", *command.argv()]
            self.log.info("Running %s in conda environment %s", input_location, conda_env)
            if self._stop_requested:  # asked to stop while the environment was being prepared
                raise AirflowException(f"The run of {input_location} was stopped before it started")
            self._process = StreamedProcess(argv, env=self._child_env(), cwd=workdir)
            if self._stop_requested:  # asked between the check above and the start
                self._process.stop()
            status = self._process.stream(self.log.info)
            stopped = self._process.stopped

        if stopped:
            raise AirflowException(f"The run of {input_location} was stopped before it finished")
        if status in ENVIRONMENT_FAILURES:
            raise AirflowFailException(
                ENVIRONMENT_FAILURES[status].format(conda_path=self.conda_path, conda_env=conda_env)
            )
        if status != 0:
            cell = describe_failed_cell(output_location, execution_timeout)
            what = cell or f"papermill exited with status {status} (see the log above)"
            raise AirflowException(
                f"Notebook {input_location} failed: {what}. The output notebook is kept at {output_location}"
            )
        self.log.info("Output notebook: %s", output_location)
        return output_location

    def kill(self) -> None:
        """Stop the running notebook: papermill, its kernel and everything they started.

        Called before papermill has started (while an archive unpacks, say), it stops the run
        from starting at all.
        """
        self._stop_requested = True
        if self._process is not None:
            self._process.stop()

    @staticmethod
    def _input_location(input_nb: str, base: Path) -> str:
        if not is_local(input_nb):
            return input_nb
        path = local_path(input_nb, base)
        if not path.is_file():
            raise AirflowException(f"input_nb: no notebook at '{path}'")
        return str(path)

    @staticmethod
    def _output_location(output_nb: str, base: Path) -> str:
        if not is_local(output_nb):
            return output_nb
        path = local_path(output_nb, base)
        path.parent.mkdir(parents=True, exist_ok=True)
        return str(path)

    @staticmethod
    def _with_kernel_cwd(others: list[str], input_location: str) -> list[str]:
        """Start the kernel in the notebook's own folder, as Jupyter does, unless told otherwise."""
        if not is_local(input_location) or any(word.split("=", 1)[0] == "--cwd" for word in others):
            return others
        return ["--cwd", str(Path(input_location).parent), *others]

    @staticmethod
    def _child_env() -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        return env

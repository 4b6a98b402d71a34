"""JupyterCondaHook: activate a conda environment on the worker and run papermill in it."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from airflow_jupyter_provider import (
    CONFIG_SECTION,
    DEFAULT_CONDA_PATH,
    DEFAULT_ENV_CACHE_DIR,
    DEFAULT_ENV_CACHE_MAX_SIZE_MB,
)
from airflow_jupyter_provider.compat import (
    AirflowException,
    AirflowFailException,
    AirflowNotFoundException,
    airflow_conf,
)
from airflow_jupyter_provider.environments import CondaEnvError, ResolveOptions, resolve_environment
from airflow_jupyter_provider.execution.cgroups import (
    CgroupSettings,
    LimitsUnavailable,
    RunGroup,
    SettingError,
    enforce_limits,
)
from airflow_jupyter_provider.execution.limits import Limit
from airflow_jupyter_provider.execution.process import StreamedProcess
from airflow_jupyter_provider.execution.statuses import ENVIRONMENT_FAILURES
from airflow_jupyter_provider.locations import is_local, local_path
from airflow_jupyter_provider.notebook.command import PapermillCommand, injects_parameters, split_others
from airflow_jupyter_provider.notebook.failure import find_failed_cell
from airflow_jupyter_provider.notebook.parameters import parse_parameters, write_parameters_file
from airflow_jupyter_provider.notebook.progress import CellProgress, LogLine, load_cell_plan
from airflow_jupyter_provider.notebook.render import names_html_file

if TYPE_CHECKING:
    from airflow_jupyter_provider.environments.cache import EnvironmentCache

RUN_NOTEBOOK_SCRIPT = Path(__file__).parent.parent / "execution" / "run_notebook.sh"


class JupyterCondaHook(BaseHook):
    """
    Run a notebook with papermill inside a conda environment on this worker.

    The connection (type ``jupyter_conda``) is optional. Its extras: ``conda_path``, the
    ``conda.sh`` that activates named environments (default
    ``/opt/anaconda3/etc/profile.d/conda.sh``; a packed environment needs no conda at all);
    ``resource_root``, a folder or storage URL that relative archive paths start from;
    ``env_cache_dir`` and ``env_cache_max_size_mb``, where packed environments are unpacked
    and how much of them to keep (defaults from the ``[jupyter_conda]`` config section).

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
        #: The local path of the last run's notebook rendered as HTML, once it is written.
        self.rendered_html: str | None = None

    @cached_property
    def extra(self) -> dict[str, Any]:
        """The connection's extra; none when the default connection is not defined."""
        try:
            return self.get_connection(self.jupyter_conda_conn_id).extra_dejson
        except AirflowNotFoundException:
            if self.jupyter_conda_conn_id != self.default_conn_name:
                raise
            return {}

    @cached_property
    def conda_path(self) -> str:
        """The ``conda.sh`` to source, from the connection's extra or the default."""
        return self.extra.get("conda_path") or DEFAULT_CONDA_PATH

    @cached_property
    def resource_root(self) -> str | None:
        """Where relative archive paths start (DolphinScheduler's resource center), if set."""
        return self.extra.get("resource_root") or None

    @cached_property
    def env_cache(self) -> EnvironmentCache:
        """This worker's cache of unpacked packed environments."""
        conf = airflow_conf()

        from airflow_jupyter_provider.environments.cache import EnvironmentCache

        root = self.extra.get("env_cache_dir") or conf.get(
            CONFIG_SECTION, "env_cache_dir", fallback=DEFAULT_ENV_CACHE_DIR
        )
        max_mb = self.extra.get("env_cache_max_size_mb") or conf.getint(
            CONFIG_SECTION, "env_cache_max_size_mb", fallback=DEFAULT_ENV_CACHE_MAX_SIZE_MB
        )
        return EnvironmentCache(Path(root), int(max_mb) * 1024 * 1024 if int(max_mb) > 0 else None)

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
        limits: Sequence[Limit] = (),
        conda_env_conn_id: str | None = None,
        conda_env_sha256: str | None = None,
        output_html: str | None = None,
        html_owner: Mapping[str, Any] | None = None,
    ) -> str:
        """
        Execute ``input_nb`` into ``output_nb`` in ``conda_env``; return ``output_nb``.

        Every line the notebook's cells print goes to this hook's log as it comes, each cell
        announced as ``cell N/M: <its first line>`` (see ``notebook/progress.py``); a failed
        cell's source and traceback follow. ``output_html``, a local path, receives the
        executed notebook as HTML once papermill has run, whether the notebook failed or not;
        :attr:`rendered_html` then names it; ``html_owner`` (the task instance's dag_id, run_id,
        task_id and map_index) is stamped into it for the UI's Notebook tab. Relative local paths
        are taken from ``base_dir`` (default: the current folder).
        ``limits`` (see ``execution/limits.py``) apply to every process of the run through a
        cgroup of its own. A packed ``conda_env`` is fetched with the connection
        ``conda_env_conn_id`` and, with ``conda_env_sha256``, checked against that checksum.

        :raises AirflowFailException: the environment cannot run the notebook, the limits cannot
            be enforced, or the run exceeded its memory limit; a retry won't help.
        :raises AirflowException: the notebook failed (the partial output notebook is kept).
        """
        base = Path(base_dir) if base_dir is not None else Path.cwd()
        self.rendered_html = None
        try:
            for name, value in (("input_nb", input_nb), ("output_nb", output_nb)):
                if not isinstance(value, str) or not value.strip():
                    raise ValueError(f"{name} must be a non-empty string, got {value!r}")
            html_path = self._html_path(output_html, base, input_nb, output_nb)
            environment = resolve_environment(
                conda_env, ResolveOptions(base, self.resource_root, conda_env_conn_id, conda_env_sha256)
            )
            parameters = parse_parameters(parameters)
            others = split_others(others)
        except (CondaEnvError, ValueError) as err:
            raise AirflowFailException(str(err)) from err
        input_location = self._input_location(input_nb, base)
        output_location = self._output_location(output_nb, base)
        progress = CellProgress(load_cell_plan(input_location, injects_parameters(parameters, others)))

        started_at: float | None = None  # when papermill started, once it has
        try:
            with (
                tempfile.TemporaryDirectory(prefix="jupyter-conda-") as workdir,
                ExitStack() as environment_in_use,
                self._run_group(limits) as group,
            ):
                try:
                    activation = environment.activation_args(environment_in_use, self)
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
                script = ["bash", str(RUN_NOTEBOOK_SCRIPT), *group.join_args(), *activation]
                argv = [*script, "--", *command.argv()]
                self.log.info("Running %s in conda environment %s", input_location, conda_env)
                if self._stop_requested:  # asked to stop while the environment was being prepared
                    raise AirflowException(f"The run of {input_location} was stopped before it started")
                self._process = StreamedProcess(argv, env=self._child_env(), cwd=workdir, members=group.pids)
                started_at = time.time()
                if self._stop_requested:  # asked between the check above and the start
                    self._process.stop()
                status = self._process.stream(lambda line: self._log_lines(progress.lines(line)))
                stopped = self._process.stopped
                exceeded = group.exceeded_memory_limit()
                if usage := group.usage():
                    self.log.info("The run used %s", usage)

            if stopped:
                raise AirflowException(f"The run of {input_location} was stopped before it finished")
            if exceeded:
                raise AirflowFailException(
                    f"Notebook {input_location} ran out of memory: the memory limit of {exceeded.value} MB "
                    "(max_memory) was exceeded and the kernel's OOM killer ended a process of the run. It "
                    "is not retried, as a retry would exceed it again: raise max_memory or make the "
                    f"notebook use less. The output notebook is kept at {output_location}"
                )
            if status in ENVIRONMENT_FAILURES:
                raise AirflowFailException(
                    ENVIRONMENT_FAILURES[status].format(conda_path=self.conda_path, conda_env=conda_env)
                )
            if status != 0:
                what = self._explain_failure(status, output_location, execution_timeout, progress)
                raise AirflowException(
                    f"Notebook {input_location} failed: {what}. "
                    f"The output notebook is kept at {output_location}"
                )
            self.log.info("Output notebook: %s", output_location)
            return output_location
        finally:
            if started_at is not None and html_path is not None:
                self._render_html(output_location, html_path, started_at, html_owner)

    def _log_lines(self, lines: Sequence[LogLine]) -> None:
        for level, text in lines:
            self.log.log(level, text)

    def _explain_failure(
        self, status: int, output_location: str, execution_timeout: int | None, progress: CellProgress
    ) -> str:
        """Log what made the notebook fail; return it in a few words for the task's exception.

        The output notebook tells best: the failed cell's source, exception and traceback.
        Without a failed cell in it (the kernel died, papermill could not start it), the
        exception papermill ended with does.
        """
        if failed := find_failed_cell(output_location):
            for line in failed.report():
                self.log.error(line)
            return failed.summary(execution_timeout)
        if error := progress.papermill_error:
            for line in error:
                self.log.error(line)
            return f"papermill exited with status {status}: {error[0]}"
        return f"papermill exited with status {status} (see the log above)"

    def _render_html(
        self, output_location: str, html_path: Path, started_at: float, owner: Mapping[str, Any] | None
    ) -> None:
        """Render the executed notebook as HTML; a failure to do so is only a warning."""
        from airflow_jupyter_provider.notebook.render import render_html

        if is_local(output_location) and not _written_since(Path(output_location), started_at):
            # Not even a notebook an earlier try left there: it would show that try's outcome.
            self.log.info("No HTML at %s: papermill wrote no output notebook in this run", html_path)
            return
        try:
            render_html(output_location, html_path, owner)
        except Exception as err:
            self.log.warning("Could not render %s as HTML at %s: %s", output_location, html_path, err)
            return
        self.rendered_html = str(html_path)
        self.log.info("Executed notebook as HTML: %s", html_path)

    @staticmethod
    def _html_path(output_html: str | None, base: Path, input_nb: str, output_nb: str) -> Path | None:
        """The local path ``output_html`` names; it may be neither notebook."""
        if output_html is None:
            return None
        if not isinstance(output_html, str) or not is_local(output_html) or not names_html_file(output_html):
            raise ValueError(
                f"output_html must be a local path (or file:// URL) ending in .html, got {output_html!r}"
            )
        path = local_path(output_html, base)
        for name, notebook in (("input_nb", input_nb), ("output_nb", output_nb)):
            if is_local(notebook) and local_path(notebook, base) == path:
                raise ValueError(f"output_html {output_html!r} is {name}: the HTML would overwrite it")
        return path

    def kill(self) -> None:
        """Stop the running notebook: papermill, its kernel and everything they started.

        Called before papermill has started (while an archive unpacks, say), it stops the run
        from starting at all.
        """
        self._stop_requested = True
        if self._process is not None:
            self._process.stop()

    @contextmanager
    def _run_group(self, limits: Sequence[Limit]) -> Iterator[RunGroup]:
        """The run's cgroups for ``limits`` (none without limits), removed once the run is over."""
        if not limits:
            yield RunGroup()
            return
        try:
            group = enforce_limits(limits, CgroupSettings.from_airflow_config(), self.log)
        except (LimitsUnavailable, SettingError) as err:
            raise AirflowFailException(str(err)) from err
        try:
            yield group
        finally:
            group.close(self.log)

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


def _written_since(path: Path, started_at: float) -> bool:
    """Whether ``path`` is a file written since ``started_at`` (2 s for coarse file system clocks)."""
    try:
        return path.stat().st_mtime >= started_at - 2
    except FileNotFoundError:
        return False

"""JupyterCondaHook: run one notebook with papermill inside a conda environment on this worker."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any

from airflow.sdk import BaseHook

from airflow_jupyter_provider.compat import AirflowException, AirflowNotFoundException
from airflow_jupyter_provider.config import WorkerSettings
from airflow_jupyter_provider.environments import Environment, ResolveOptions, resolve_environment
from airflow_jupyter_provider.exceptions import JupyterCondaError, RunFailed, to_airflow
from airflow_jupyter_provider.limits.enforce import enforced
from airflow_jupyter_provider.limits.group import RunGroup
from airflow_jupyter_provider.masking import masked
from airflow_jupyter_provider.run import launcher
from airflow_jupyter_provider.run.isolation import shield_task_process
from airflow_jupyter_provider.run.kernel_check import KernelCheck, kernel_problem
from airflow_jupyter_provider.run.outcome import ExecutedNotebook
from airflow_jupyter_provider.run.papermill_args import Locations, papermill_command
from airflow_jupyter_provider.run.papermill_options import injects_parameters
from airflow_jupyter_provider.run.parameters import write_parameters_file
from airflow_jupyter_provider.run.process import StreamedProcess
from airflow_jupyter_provider.run.progress import CellPlan, CellProgress, LogLine
from airflow_jupyter_provider.run.request import NotebookRun
from airflow_jupyter_provider.run.run_result import RunResult
from airflow_jupyter_provider.run.staging import Publisher, Staged, save_quietly, stage
from airflow_jupyter_provider.run.verdict import RunEnd, failure_of


class JupyterCondaHook(BaseHook):
    """
    Run a notebook with papermill inside a conda environment on this worker.

    The connection (type ``jupyter_conda``) is optional. Its extras: ``conda_path``, the
    ``conda.sh`` that activates named environments (default
    ``/opt/anaconda3/etc/profile.d/conda.sh``; a packed environment needs no conda at all);
    ``resource_root``, a folder or storage URL that relative archive paths start from;
    ``env_cache_dir`` and ``env_cache_max_size_mb``, where packed environments are unpacked
    and how much of them to keep (defaults from the ``[jupyter_conda]`` config section);
    ``index_url``, ``extra_index_urls``, ``find_links`` and ``trusted_host``, where tasks'
    ``requirements`` are installed from (default: the worker's pip or uv configuration).

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
    def extra(self) -> dict[str, Any]:
        """The connection's extra; none when the default connection is not defined."""
        try:
            return self.get_connection(self.jupyter_conda_conn_id).extra_dejson
        except AirflowNotFoundException:
            if self.jupyter_conda_conn_id != self.default_conn_name:
                raise
            return {}

    @cached_property
    def settings(self) -> WorkerSettings:
        """This worker's settings: the connection's extra, then ``[jupyter_conda]``, then defaults."""
        return WorkerSettings.load(self.extra)

    def run(self, run: NotebookRun) -> RunResult:
        """
        Execute ``run.input_nb`` into ``run.output_nb`` in ``run.conda_env``.

        Every line the notebook's cells print goes to this hook's log as it comes, each cell
        announced as ``cell N/M: <its first line>`` (see ``run/progress.py``); a failed cell's
        source and traceback follow. With ``run.task_instance``, papermill runs a copy of the
        input stamped with it, so the output notebook carries the stamp the UI's Notebook tab
        checks. papermill writes the output notebook into the run's private folder, and the
        worker saves it where it goes, its secrets masked, each time papermill has saved it
        (``run/staging.py``); with ``run.notebook_conn_id``, notebooks in object storage go
        through that connection. The notebook's processes get the worker's environment less
        Airflow's configuration and secrets, plus ``run.env`` (``notebook_env.py``).
        The executed notebook is read once after the run: for the failed cell, the results and,
        with ``run.output_html``, the HTML, rendered whether the notebook failed or not.
        ``run.limits`` apply to every process of the run through a cgroup of its own.

        :return: what the run produced. A run that failed or was interrupted after papermill
            started raises, and its exception carries the result (:meth:`RunResult.attached_to`).
        :raises AirflowFailException: the environment cannot run the notebook, the limits cannot
            be enforced, or the run exceeded its memory limit; a retry won't help.
        :raises AirflowException: the notebook failed (the partial output notebook is kept).
        """
        try:
            return self._run(run)
        except JupyterCondaError as err:  # raised while preparing the run, before papermill started
            raise to_airflow(err) from err

    def kill(self) -> None:
        """Stop the running notebook: papermill, its kernel and everything they started.

        Called before papermill has started (while an archive unpacks, say), it stops the run
        from starting at all.
        """
        self._stop_requested = True
        if self._process is not None:
            self._process.stop()

    def environment_of(self, run: NotebookRun) -> Environment:
        """The environment ``run.conda_env`` names on this worker; nothing is fetched or read yet.

        :raises JupyterCondaError: no run can use it.
        """
        options = ResolveOptions(
            run.base_dir,
            self.settings.resource_root,
            run.conda_env_conn_id,
            run.conda_env_sha256,
            run.requirements,
        )
        return resolve_environment(run.conda_env, options)

    def _run(self, run: NotebookRun) -> RunResult:
        environment = self.environment_of(run)
        where = Locations.of(run)
        with tempfile.TemporaryDirectory(prefix="jupyter-conda-") as workdir:
            staged = stage(run, where, Path(workdir))
            progress = _progress(run, staged.notebook)
            kernel_check = KernelCheck.needed(run.kernel, staged.notebook, run.conda_env)
            ended = RunEnd()
            try:
                self._execute(run, environment, staged, Path(workdir), progress, kernel_check, ended)
            except BaseException as err:
                if ended.started_at is not None:  # papermill ran: its output shows how far it got
                    executed = self._executed(staged, ended)
                    self._last_save(staged, executed, failed=True)
                    self._result(run, environment, ended, executed, succeeded=False).attach_to(err)
                raise
            executed = self._executed(staged, ended)
            error = self._verdict(run, where, ended, progress, executed)
            error = self._last_save(staged, executed, failed=error is not None) or error
            result = self._result(run, environment, ended, executed, succeeded=error is None)
        if error is not None:
            raise result.attach_to(to_airflow(error)) from None
        self.log.info("Output notebook: %s", where.output)
        return result

    def _executed(self, staged: Staged, ended: RunEnd) -> ExecutedNotebook:
        """The output notebook papermill left, read once, as the output notebook keeps it: with
        the user's input location in it and its secrets masked."""
        assert ended.started_at is not None
        executed = ExecutedNotebook.load(
            staged.writes, ended.started_at, self.log, shown_as=staged.where.output, files=staged.files
        )
        if executed.notebook is not None:
            staged.finish(executed.notebook)
        return executed

    def _result(
        self,
        run: NotebookRun,
        environment: Environment,
        ended: RunEnd,
        executed: ExecutedNotebook,
        *,
        succeeded: bool,
    ) -> RunResult:
        result = executed.result(run.output_html, succeeded=succeeded, log=self.log)
        return replace(result, environment=environment.facts(ended.activation))

    def _verdict(
        self,
        run: NotebookRun,
        where: Locations,
        ended: RunEnd,
        progress: CellProgress,
        executed: ExecutedNotebook,
    ) -> RunFailed | None:
        """Why the run failed, if it did (``run/verdict.py``); the log shows what the task's
        exception sums up: the failed cell's source and traceback, say."""
        failure = failure_of(run, where, ended, progress, executed, conda_path=self.settings.conda_path)
        if failure is None:
            return None
        for line in failure.report:
            self.log.error(line)
        return failure.error

    def _last_save(self, staged: Staged, executed: ExecutedNotebook, *, failed: bool) -> RunFailed | None:
        """Save the output notebook as the run left it (papermill's last whole save where it
        cannot be read). A failed run's partial notebook is saved if it can be (a warning if
        not); a success's must be, or the task fails."""
        if not staged.saves or not executed.written:
            return None
        if failed:
            save_quietly(staged, self.log, executed.notebook)
            return None
        try:
            staged.save(executed.notebook)
        except RunFailed as err:
            return err
        return None

    def _execute(
        self,
        run: NotebookRun,
        environment: Environment,
        staged: Staged,
        workdir: Path,
        progress: CellProgress,
        kernel_check: KernelCheck | None,
        ended: RunEnd,
    ) -> None:
        """Prepare the run (limits first, then the environment), run it, and release both."""
        with (
            ExitStack() as environment_in_use,  # released after the groups, whose leftovers use it
            enforced(run.limits, self.settings.cgroups, self.log) as group,
        ):
            activation = environment_in_use.enter_context(environment.activate(self.settings, self.log))
            ended.activation = activation
            parameters = {**run.parameters, **staged.path_parameters(run.others)}
            parameters_file = write_parameters_file(parameters, workdir / "parameters.yaml")
            papermill = papermill_command(run, staged.where, staged.reads, staged.writes, parameters_file)
            check = kernel_check.argv(workdir) if kernel_check else ()
            argv = launcher.command(activation, group.procs_files(), papermill.argv(), check)
            self.log.info("Running %s in conda environment %s", staged.where.input, run.conda_env)
            if self._stop_requested:  # asked to stop while the environment was being prepared
                raise AirflowException(f"The run of {staged.where.input} was stopped before it started")
            with Publisher(staged, self.log):
                env = launcher.child_env(run.env, self.settings.notebook_env_keep())
                self._stream(argv, env, workdir, group, self._on_line(progress, staged), ended)
            ended.kernel_problem = kernel_problem(workdir)
            if limit := group.exceeded_memory_limit():
                ended.exceeded_memory = limit.value
            if usage := group.usage():
                self.log.info("The run used %s", usage)

    def _on_line(self, progress: CellProgress, staged: Staged) -> Callable[[str], None]:
        """What each line of the run's output does: it goes to the log, its secrets masked,
        naming the user's notebooks, not the worker's copies."""

        def on_line(line: str) -> None:
            self._log_lines(progress.lines(masked(staged.shown(line))))

        return on_line

    def _stream(
        self,
        argv: list[str],
        env: dict[str, str],
        workdir: Path,
        group: RunGroup,
        on_line: Callable[[str], None],
        ended: RunEnd,
    ) -> None:
        """Start the run's process, which cannot read this one, and hand it each line of its
        output until it ends."""
        shield_task_process(self.log)
        self._process = StreamedProcess(argv, env=env, cwd=str(workdir), members=group.pids)
        ended.started_at = time.time()
        if self._stop_requested:  # asked between the check before the start and the start
            self._process.stop()
        ended.status = self._process.stream(on_line)
        ended.stopped = self._process.stopped

    def _log_lines(self, lines: Sequence[LogLine]) -> None:
        for level, text in lines:
            self.log.log(level, text)


def _progress(run: NotebookRun, notebook: Any | None) -> CellProgress:
    """What follows papermill's output: with the input notebook read, it names each cell."""
    if notebook is None:
        return CellProgress(None)
    return CellProgress(CellPlan.of(notebook.cells, injects_parameters(run.parameters, run.others)))

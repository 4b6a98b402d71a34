"""Warming this worker's cache of packed environments before its first task.

    python -m airflow_jupyter_provider.environments.prefetch DAG_FOLDER [--conn-id ID]

A cold worker's first task in a packed environment pays for its fetch and unpack (seconds to
minutes). Run at deploy time, this finds the ``conda_env`` of every ``JupyterCondaOperator``
task of a DAG folder (mapped ones too), rendered as the DAG-integrity kit renders it, and
enters each packed one's own ``activate()`` once: the sources, sha256 pins, locks, unpack and
conda-unpack of a task's run, into the cache of the task's ``jupyter_conda`` connection.

Each archive (location and pin) is done once. Named and folder environments have nothing to
fetch and are left out. A ``conda_env`` only a run can render (XCom, a Variable without a
default, the run's date) is skipped. One line per archive on stdout (the cache's own messages
go to stderr); the exit status is 1 when one failed, 2 when the folder is not there.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_jupyter_provider.environments.kinds import PackedEnvironment, ResolveOptions, check_environment
from airflow_jupyter_provider.exceptions import JupyterCondaError
from airflow_jupyter_provider.testing.findings import one_line

if TYPE_CHECKING:
    from airflow.sdk import DAG

    from airflow_jupyter_provider.config import WorkerSettings
    from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

#: What the sample context makes up for a run: a ``conda_env`` that reads one is known only in a run.
RUN_VALUES = frozenset(
    {
        "run_id",
        "dag_run",
        "logical_date",
        "data_interval_start",
        "data_interval_end",
        "ds",
        "ds_nodash",
        "ts",
        "ts_nodash",
        "ts_nodash_with_tz",
        "task_instance_key_str",
        "ti",
        "task_instance",
    }
)


@dataclass(frozen=True)
class Outcome:
    """What became of one packed environment (``ok``, ``failed``), or why a task's is not known
    (``skipped``); ``text`` names the archive or the task."""

    status: str
    text: str

    @property
    def line(self) -> str:
        return f"{self.status:<7} {self.text}"


def prefetch(
    dag_folder: str | Path, conn_id: str | None = None, log: logging.Logger | None = None
) -> Iterator[Outcome]:
    """Fetch and unpack into this worker's cache every packed ``conda_env`` of ``dag_folder``'s
    notebook tasks, each as it is reached.

    :param conn_id: the ``jupyter_conda`` connection (``env_cache_dir``, ``resource_root``) for
        every task; by default each task's own ``jupyter_conda_conn_id``.
    :param log: told what the cache does (fetched, unpacked, cached), as a task's log is.
    :raises FileNotFoundError: there is no ``dag_folder``.
    """
    from airflow_jupyter_provider.compat import dag_bag_class

    if not Path(dag_folder).exists():
        raise FileNotFoundError(f"DAG_FOLDER: nothing at '{dag_folder}'")
    # Absolute, so that the archives' locations (relative ones start at their DAG file) are too.
    dagbag = dag_bag_class()(dag_folder=str(Path(dag_folder).absolute()))
    for path, text in sorted(dagbag.import_errors.items()):
        last = text.strip().splitlines()[-1] if text.strip() else "import error"
        yield Outcome("skipped", f"{path} does not import ({one_line(last)}): its environments are not known")
    warmer = _Warmer(conn_id, log or logging.getLogger(__name__))
    for dag in sorted(dagbag.dags.values(), key=lambda dag: dag.dag_id):
        for task in sorted(dag.tasks, key=lambda task: task.task_id):
            for name, operator in _notebook_tasks(task, f"{dag.dag_id}.{task.task_id}"):
                outcome = operator if isinstance(operator, Outcome) else warmer.warm(dag, operator, name)
                if outcome is not None:
                    yield outcome


def _notebook_tasks(task: Any, name: str) -> Iterator[tuple[str, JupyterCondaOperator | Outcome]]:
    """The notebook tasks ``task`` is (one, or one per map index), or why one cannot be made."""
    from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator
    from airflow_jupyter_provider.testing.mapped import is_mapped_notebook_task, map_indexes

    if isinstance(task, JupyterCondaOperator):
        yield name, task
    elif is_mapped_notebook_task(task):
        for instance in map_indexes(task):
            indexed = name if instance.index is None else f"{name}[{instance.index}]"
            if instance.operator is not None:
                yield indexed, instance.operator
            elif instance.problem.skipped:
                reason = instance.problem.text.removesuffix(": not checked")
                yield indexed, Outcome("skipped", f"{indexed} conda_env needs a run: {reason}")
            else:
                yield indexed, Outcome("failed", f"{indexed}: {instance.problem.text}")


class _Warmer:
    """Warms each packed environment once, with the settings of each task's connection."""

    def __init__(self, conn_id: str | None, log: logging.Logger) -> None:
        self.conn_id = conn_id
        self.log = log
        self._settings: dict[str, WorkerSettings] = {}
        self._done: set[tuple[str, str, str | None]] = set()

    def warm(self, dag: DAG, task: JupyterCondaOperator, name: str) -> Outcome | None:
        """The outcome of ``task``'s environment; None when it is no archive or was done already."""
        value = _rendered_conda_env(dag, task, name)
        if isinstance(value, Outcome):
            return value
        conn_id = self.conn_id or task.jupyter_conda_conn_id
        try:
            if check_environment(value, task.conda_env_sha256) is not PackedEnvironment:
                return None  # a named or folder environment: nothing to fetch, no connection needed
            settings = self._settings_of(conn_id)
            options = ResolveOptions(
                Path(dag.fileloc).parent,
                settings.resource_root,
                task.conda_env_conn_id,
                task.conda_env_sha256,
            )
            environment = PackedEnvironment.from_value(value, options)
        except JupyterCondaError as err:
            return Outcome("failed", f"{name}: {one_line(str(err))}")
        key = (conn_id, environment.source.location, environment.sha256)
        if key in self._done:
            return None
        self._done.add(key)
        return self._activate(environment, settings)

    def _activate(self, environment: PackedEnvironment, settings: WorkerSettings) -> Outcome:
        from airflow_jupyter_provider.environments.cache import EnvironmentCache

        location = environment.source.location
        started = time.monotonic()
        try:
            with environment.activate(settings, self.log) as activation:
                size = EnvironmentCache.of(settings.env_cache()).bytes_of(Path(activation.target)) or 0
        except JupyterCondaError as err:
            return Outcome("failed", f"{location}: {one_line(str(err))}")
        return Outcome("ok", f"{location}  {size / 1e6:.1f} MB  {time.monotonic() - started:.1f} s")

    def _settings_of(self, conn_id: str) -> WorkerSettings:
        """The worker's settings with connection ``conn_id``, as a task's hook reads them."""
        from airflow_jupyter_provider.compat import AirflowException
        from airflow_jupyter_provider.exceptions import SettingError
        from airflow_jupyter_provider.hooks.jupyter_conda import JupyterCondaHook

        if conn_id not in self._settings:
            try:
                self._settings[conn_id] = JupyterCondaHook(conn_id).settings
            except AirflowException as err:
                raise SettingError(
                    f"jupyter_conda_conn_id '{conn_id}': {err}: define it where this worker's tasks read "
                    "connections, or name another one with --conn-id"
                ) from err
        return self._settings[conn_id]


def _rendered_conda_env(dag: DAG, task: JupyterCondaOperator, name: str) -> Any:
    """``task``'s ``conda_env`` rendered with the sample context, or the outcome saying why not."""
    from airflow_jupyter_provider.testing.pools import KnownPools
    from airflow_jupyter_provider.testing.subject import CheckRun, RenderFailed, TaskUnderCheck

    if run_values := _run_values(task):
        return Outcome(
            "skipped", f"{name} conda_env needs a run: {task.conda_env!r} reads {', '.join(run_values)}"
        )
    try:
        return TaskUnderCheck(dag, task, CheckRun(KnownPools())).render("conda_env")
    except RenderFailed as err:
        if not err.problem.skipped:
            return Outcome("failed", f"{name}: {err.problem.text}")
        reason = one_line(str(err.__cause__)) or type(err.__cause__).__name__
        return Outcome("skipped", f"{name} conda_env needs a run: {task.conda_env!r}: {reason}")


def _run_values(task: JupyterCondaOperator) -> list[str]:
    """The run's values (``ds``, ``dag_run``, ...) that ``task``'s ``conda_env`` template reads."""
    from jinja2 import TemplateSyntaxError, meta

    if not isinstance(task.conda_env, str):
        return []
    try:
        parsed = task.get_template_env().parse(task.conda_env)
    except TemplateSyntaxError:  # rendering reports it
        return []
    return sorted(meta.find_undeclared_variables(parsed) & RUN_VALUES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_jupyter_provider.environments.prefetch",
        description="Fetch and unpack every packed conda_env of a DAG folder into this worker's cache.",
    )
    parser.add_argument("dag_folder", metavar="DAG_FOLDER", type=Path, help="Airflow's [core] dags_folder")
    parser.add_argument(
        "--conn-id",
        help="the jupyter_conda connection whose extras (env_cache_dir, resource_root) apply to every "
        "task (default: each task's jupyter_conda_conn_id)",
    )
    args = parser.parse_args(argv)
    if not args.dag_folder.exists():
        parser.error(f"DAG_FOLDER: nothing at '{args.dag_folder}': give the folder of the DAG files")
    log = logging.Logger("prefetch", logging.INFO)
    log.addHandler(logging.StreamHandler(sys.stderr))
    report, failed, found = sys.stdout, False, False
    # stdout is the report: what Airflow and the DAG files print goes to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        for outcome in prefetch(args.dag_folder, args.conn_id, log):
            print(outcome.line, file=report, flush=True)
            found = True
            failed = failed or outcome.status == "failed"
    if not found:
        print(f"no packed conda_env in the JupyterCondaOperator tasks of {args.dag_folder}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Checking a DAG folder: Airflow's DagBag loads it, every ``JupyterCondaOperator`` task is checked.

Airflow is imported when a check runs, not with this module: importing Airflow configures it
(reads and creates ``AIRFLOW_HOME``), and a project's tests may set that up first.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_jupyter_provider.testing.checks import CHECKS, Check
from airflow_jupyter_provider.testing.findings import Finding, Problem, failure_message, one_line
from airflow_jupyter_provider.testing.mapped import is_mapped_notebook_task, map_indexes
from airflow_jupyter_provider.testing.pools import KnownPools
from airflow_jupyter_provider.testing.subject import CheckRun, TaskUnderCheck

if TYPE_CHECKING:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import DAG
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

#: A frame line of a Python traceback; the exception's own lines come after the last one.
_FRAME = re.compile(r'^\s+File "')


class SkippedCheckWarning(UserWarning):
    """A check that could not be made on this machine (a remote notebook, a template needing a run)."""


def check_dag_folder(
    dag_folder: str | Path, *, strict: bool = False, pools_file: str | Path | None = None
) -> list[Finding]:
    """Load ``dag_folder`` (or one DAG file) with Airflow's DagBag and check it; see :func:`check_dagbag`.

    :raises FileNotFoundError: there is no ``dag_folder``; DagBag would find nothing in it, and a
        mistyped folder would pass.
    """
    from airflow_jupyter_provider.compat import dag_bag_class

    if not Path(dag_folder).exists():
        raise FileNotFoundError(f"dag_folder: nothing at '{dag_folder}'")
    return check_dagbag(dag_bag_class()(dag_folder=str(dag_folder)), strict=strict, pools_file=pools_file)


def check_dagbag(
    dagbag: DagBag, *, strict: bool = False, pools_file: str | Path | None = None
) -> list[Finding]:
    """Every problem of the DagBag's files and of their ``JupyterCondaOperator`` tasks.

    :param strict: also report declared notebook parameters that have no default (``None``,
        ``""``) and that the task does not give.
    :param pools_file: pools in the format ``airflow pools export`` writes; a task's pool must
        be in it or in the Airflow database (when that can be read).
    :return: import errors first, then the tasks' findings, by DAG id and task id.
    """
    from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

    root = Path(dagbag.dag_folder)
    root = root if root.is_dir() else root.parent
    findings = [
        Finding(_relative(path, root), None, None, "import", f"import error: {_exception_text(text)}")
        for path, text in sorted(dagbag.import_errors.items())
    ]
    run = CheckRun(pools=KnownPools(pools_file))
    checks = [check for check in CHECKS if strict or not check.strict_only]
    for dag in sorted(dagbag.dags.values(), key=lambda dag: dag.dag_id):
        dag_file = _relative(dag.fileloc, root)
        for task in sorted(dag.tasks, key=lambda task: task.task_id):
            if isinstance(task, JupyterCondaOperator):
                found = [(name, problem, ()) for name, problem in _problems(dag, task, run, checks)]
            elif is_mapped_notebook_task(task):
                found = _mapped_problems(dag, task, run, checks)
            else:
                continue
            findings.extend(
                Finding(dag_file, dag.dag_id, task.task_id, name, problem.text, problem.skipped, indexes)
                for name, problem, indexes in found
            )
    return findings


def _problems(
    dag: DAG, task: JupyterCondaOperator, run: CheckRun, checks: list[Check]
) -> list[tuple[str, Problem]]:
    """What each check finds in one (unmapped) task, with the check's name."""
    subject = TaskUnderCheck(dag, task, run)
    return [(check.name, problem) for check in checks for problem in check.run(subject)]


def _mapped_problems(
    dag: DAG, task: MappedOperator, run: CheckRun, checks: list[Check]
) -> list[tuple[str, Problem, tuple[int, ...]]]:
    """What the checks find in each task a mapped task makes, each problem once with its map indexes.

    A problem that every map index has is the task's own (a ``partial`` argument, say): it names
    no index; nor does one of a task whose map indexes only a run knows.
    """
    instances = list(map_indexes(task))
    where: dict[tuple[str, Problem], list[int | None]] = {}
    for instance in instances:
        if instance.problem is not None:
            found = [("expand" if instance.problem.skipped else "arguments", instance.problem)]
        elif instance.operator is not None:
            found = _problems(dag, instance.operator, run, checks)
        for key in found:
            where.setdefault(key, []).append(instance.index)
    return [
        (name, problem, () if len(indexes) == len(instances) or None in indexes else tuple(indexes))
        for (name, problem), indexes in where.items()
    ]


def assert_no_findings(findings: Iterable[Finding]) -> None:
    """Fail (AssertionError listing every finding, one a line) unless every finding is a skipped one.

    Skipped findings do not fail; each one is issued as a :class:`SkippedCheckWarning`, which
    pytest lists in its warnings summary (except for warnings issued in the test that first imports
    Airflow, whose logging setup takes them over: the ``jupyter_dag_integrity`` fixture reports
    skipped checks in a summary section of its own instead).
    """
    __tracebackhide__ = True
    findings = list(findings)
    for finding in findings:
        if finding.skipped:
            warnings.warn(str(finding), SkippedCheckWarning, stacklevel=2)
    message = failure_message(findings)
    if message:
        raise AssertionError(message)


def _relative(path: str, root: Path) -> str:
    """``path`` from the checked folder, as a finding names it."""
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return path


def _exception_text(traceback_text: str) -> str:
    """The exception of an import-error traceback (the lines after its last frame), in one line."""
    lines = traceback_text.strip().splitlines()
    frames = [index for index, line in enumerate(lines) if _FRAME.match(line)]
    if frames:
        lines = lines[frames[-1] + 1 :]
        # The frame's source line and the carets under it are indented; the exception is not.
        while lines and lines[0].startswith(" "):
            lines = lines[1:]
    return one_line("\n".join(lines))

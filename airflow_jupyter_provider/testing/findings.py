"""What the DAG-integrity check reports: one :class:`Finding` per problem, printed as one line."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """What one check found about one task, before it is tied to the task's file, DAG and id."""

    text: str
    #: The check could not be made here (a remote notebook, a template that needs a real run);
    #: reported so that nobody takes it for passed, but it fails no test.
    skipped: bool = False


@dataclass(frozen=True)
class Finding:
    """One problem in one DAG file: of one task, or of the whole file when it does not import.

    ``dag_file`` is relative to the folder that was checked; ``dag_id`` and ``task_id`` are
    None for an import error, since the file yields no DAG then. ``check`` names the check
    that found it (``import``, ``notebook``, ``parameters``, ``pool``, ...; ``arguments`` and
    ``expand`` for what makes the tasks of a mapped task).
    """

    dag_file: str
    dag_id: str | None
    task_id: str | None
    check: str
    problem: str
    skipped: bool = False
    #: The map indexes of a mapped task that have the problem; () when it is the whole task's
    #: (every map index has it) or when only a run knows the map indexes.
    map_indexes: tuple[int, ...] = ()

    def __str__(self) -> str:
        where = self.dag_file
        if self.dag_id is not None:
            where = f"{where}: dag {self.dag_id}, task {self.task_id}"
        if self.map_indexes:
            plural = "es" if len(self.map_indexes) > 1 else ""
            where = f"{where}, map index{plural} {', '.join(map(str, self.map_indexes))}"
        return f"{where}: {'skipped: ' if self.skipped else ''}{self.problem}"


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) made one space: a finding is one line."""
    return " ".join(text.split())


def failure_message(findings: Iterable[Finding]) -> str | None:
    """What a failing test says: every finding one a line, errors first; None when none is an error."""
    ordered = sorted(findings, key=lambda finding: finding.skipped)
    errors = sum(not finding.skipped for finding in ordered)
    if not errors:
        return None
    lines = "\n".join(str(finding) for finding in ordered)
    return f"{errors} DAG integrity problem(s):\n{lines}"

"""pytest plugin (entry point ``pytest11``): the ``jupyter_dag_integrity`` fixture.

pytest imports this module in every session of a project that installs the provider, so it
imports neither Airflow nor papermill nor the checks: the fixture does, when a test calls it.
Skipped checks are listed in a section of the terminal summary: warnings would not do, since
Airflow's logging takes warnings over from pytest in the test that first imports Airflow.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pytest

if TYPE_CHECKING:
    from airflow_jupyter_provider.testing.findings import Finding

#: The skipped findings of the session, one line each, for the terminal summary.
SKIPPED = pytest.StashKey[list[str]]()


class DagIntegrityCheck(Protocol):
    def __call__(
        self, dag_folder: str | Path, *, strict: bool = False, pools_file: str | Path | None = None
    ) -> list[Finding]: ...


@pytest.fixture
def jupyter_dag_integrity(request: pytest.FixtureRequest) -> DagIntegrityCheck:
    """Check a DAG folder's notebook tasks; the test fails on any finding that is not a skipped one.

    Call it with the folder (relative paths are taken from pytest's root folder), and
    optionally ``strict=True`` and ``pools_file=`` (an ``airflow pools export`` file); it
    returns the findings. Skipped ones are listed at the end of the session.
    """
    root = request.config.rootpath

    def check(
        dag_folder: str | Path, *, strict: bool = False, pools_file: str | Path | None = None
    ) -> list[Finding]:
        from airflow_jupyter_provider.testing.findings import failure_message
        from airflow_jupyter_provider.testing.integrity import check_dag_folder

        findings = check_dag_folder(
            root / dag_folder, strict=strict, pools_file=root / pools_file if pools_file is not None else None
        )
        request.config.stash.setdefault(SKIPPED, []).extend(str(f) for f in findings if f.skipped)
        message = failure_message(findings)
        if message:
            pytest.fail(message, pytrace=False)
        return findings

    return check


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    skipped = config.stash.get(SKIPPED, [])
    if skipped:
        terminalreporter.write_sep("=", f"jupyter_dag_integrity: {len(skipped)} check(s) skipped, not passed")
        for line in skipped:
            terminalreporter.write_line(line)

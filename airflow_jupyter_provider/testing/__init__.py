"""DAG integrity for notebook tasks: catch in CI what would fail a ``JupyterCondaOperator`` run.

:func:`check_dag_folder` loads a DAG folder with Airflow's DagBag and reports, for every
``JupyterCondaOperator`` task, each problem as a :class:`Finding`: import errors, a missing or
invalid input notebook, parameters the notebook does not declare (and, with ``strict=True``,
declared ones without a default that nobody gives), a pool that does not exist, a kernel an
environment folder does not have; mapped tasks for each literal expanded value (a value from
XCom is reported as skipped). :func:`assert_no_findings` fails a test on them; the pytest
fixture ``jupyter_dag_integrity`` (installed with the package) does both.

The names are loaded on first use: pytest imports this package in every test session of a
project that installs the provider (the plugin lives here), and most sessions never use them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_jupyter_provider.testing.findings import Finding
    from airflow_jupyter_provider.testing.integrity import (
        SkippedCheckWarning,
        assert_no_findings,
        check_dag_folder,
        check_dagbag,
    )

#: Public name -> the module of this package that defines it.
_EXPORTS = {
    "Finding": "findings",
    "SkippedCheckWarning": "integrity",
    "assert_no_findings": "integrity",
    "check_dag_folder": "integrity",
    "check_dagbag": "integrity",
}

__all__ = ["Finding", "SkippedCheckWarning", "assert_no_findings", "check_dag_folder", "check_dagbag"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)

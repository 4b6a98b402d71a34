"""Airflow names that live in different modules across the Airflow versions this package supports.

Airflow 3.2 moved the task exceptions and the configuration into the Task SDK (``airflow.sdk``);
Airflow 3.1 has them in ``airflow.exceptions`` and ``airflow.configuration``. Everything in this
package imports these names from here, so each one is looked up in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk.exceptions import AirflowException

try:
    from airflow.sdk.exceptions import (
        AirflowFailException,
        AirflowNotFoundException,
        AirflowSkipException,
        AirflowTaskTimeout,
    )
except ImportError:  # Airflow 3.1
    from airflow.exceptions import (  # type: ignore[no-redef]
        AirflowFailException,
        AirflowNotFoundException,
        AirflowSkipException,
        AirflowTaskTimeout,
    )

if TYPE_CHECKING:
    from airflow.configuration import AirflowConfigParser


def airflow_conf() -> AirflowConfigParser:
    """Airflow's configuration; imported when first asked for, as DAG parsing needs none of it."""
    try:
        from airflow.sdk.configuration import conf
    except ImportError:  # Airflow 3.1
        from airflow.configuration import conf
    return conf


__all__ = [
    "AirflowException",
    "AirflowFailException",
    "AirflowNotFoundException",
    "AirflowSkipException",
    "AirflowTaskTimeout",
    "airflow_conf",
]

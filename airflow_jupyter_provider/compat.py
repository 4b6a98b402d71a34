"""Airflow names that live in different modules across the Airflow versions this package supports.

Airflow 3.2 moved the task exceptions, the configuration and the task instance key into the Task
SDK (``airflow.sdk``) and DagBag into ``airflow.dag_processing``; Airflow 3.1 has them in
``airflow.exceptions``, ``airflow.configuration`` and ``airflow.models``. Everything in this
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
        ParamValidationError,
    )
except ImportError:  # Airflow 3.1
    from airflow.exceptions import (  # type: ignore[no-redef]
        AirflowFailException,
        AirflowNotFoundException,
        AirflowSkipException,
        AirflowTaskTimeout,
        ParamValidationError,
    )

if TYPE_CHECKING:
    from airflow.configuration import AirflowConfigParser
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.types import TaskInstanceKey


def airflow_conf() -> AirflowConfigParser:
    """Airflow's configuration; imported when first asked for, as DAG parsing needs none of it."""
    try:
        from airflow.sdk.configuration import conf
    except ImportError:  # Airflow 3.1
        from airflow.configuration import conf
    return conf


def dag_bag_class() -> type[DagBag]:
    """Airflow's DagBag, which loads a DAG folder; imported when first asked for."""
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 3.1
        from airflow.models.dagbag import DagBag
    return DagBag


def task_instance_key_class() -> type[TaskInstanceKey]:
    """The key Airflow passes to extra links' ``get_link``; imported when first asked for."""
    try:
        from airflow.sdk.types import TaskInstanceKey
    except ImportError:  # Airflow 3.1
        from airflow.models.taskinstancekey import TaskInstanceKey
    return TaskInstanceKey


__all__ = [
    "AirflowException",
    "AirflowFailException",
    "AirflowNotFoundException",
    "AirflowSkipException",
    "AirflowTaskTimeout",
    "ParamValidationError",
    "airflow_conf",
    "dag_bag_class",
    "task_instance_key_class",
]


def built_from_mapped(operator: object) -> bool:
    """Whether a worker is building ``operator`` for one map index of a mapped task: Airflow
    3.1 to 3.3 mark it so before the operator's ``__init__`` runs."""
    return bool(getattr(operator, "_BaseOperator__from_mapped", False))

"""A template context like the one a task run gets, made without a DAG run, a database or an API.

The operator renders ``input_nb``, ``parameters``, ``conda_env`` and ``kernel`` when it runs;
to check them before any run, they are rendered with this context instead. It holds what is
known in advance: the dates of a run at the DAG's start date, its run id, the DAG and task,
the DAG's params at their defaults (Airflow's own ``process_params`` with an empty ``conf``),
the macros, and Variables read as the defaults their templates give. A template that needs
more (``ti.xcom_pull``, ``conn``, a Variable without a default) fails to render, and the value
is reported as skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import DAG, BaseOperator

_NO_DEFAULT = object()


class SampleContextError(Exception):
    """The template reads something the sample context cannot know."""


class SampleVariables:
    """``var.value`` and ``var.json`` of the sample context: every Variable reads as its default.

    A CI machine has no Variables; the default a template gives is what it falls back to where
    the Variable is not set, so that is what renders here.
    """

    def get(self, key: str, default: Any = _NO_DEFAULT) -> Any:
        if default is _NO_DEFAULT:
            raise SampleContextError(f"Variable {key!r} is read without a default")
        return default

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):  # copy, pickle and Jinja probe dunders; they must stay missing
            raise AttributeError(key)
        raise SampleContextError(f"Variable {key!r} is read without a default")


@dataclass(frozen=True)
class SampleDagRun:
    """``dag_run`` of the sample context: a manual run at the sample date with an empty ``conf``."""

    run_id: str
    logical_date: datetime
    data_interval_start: datetime
    data_interval_end: datetime
    run_type: str = "manual"
    conf: dict[str, Any] = field(default_factory=dict)


def sample_context(dag: DAG, task: BaseOperator) -> dict[str, Any]:
    """The context ``task``'s templates are rendered with; the run is at the DAG's start date (or today)."""
    import pendulum
    from airflow.sdk.definitions.param import process_params
    from airflow.sdk.execution_time import macros

    logical_date = pendulum.instance(dag.start_date) if dag.start_date else pendulum.today("UTC")
    ds = logical_date.strftime("%Y-%m-%d")
    ts = logical_date.isoformat()
    run_id = f"manual__{ts}"
    return {
        "dag": dag,
        "task": task,
        "run_id": run_id,
        "dag_run": SampleDagRun(run_id, logical_date, logical_date, logical_date),
        "params": process_params(dag, task, {}, suppress_exception=True),
        "var": {"value": SampleVariables(), "json": SampleVariables()},
        "macros": macros,
        "logical_date": logical_date,
        "data_interval_start": logical_date,
        "data_interval_end": logical_date,
        "ds": ds,
        "ds_nodash": ds.replace("-", ""),
        "ts": ts,
        "ts_nodash": logical_date.strftime("%Y%m%dT%H%M%S"),
        "ts_nodash_with_tz": ts.replace("-", "").replace(":", ""),
        "task_instance_key_str": f"{dag.dag_id}__{task.task_id}__{ds.replace('-', '')}",
    }

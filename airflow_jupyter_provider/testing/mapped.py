"""Mapped ``JupyterCondaOperator`` tasks (``partial(...).expand(...)``, ``expand_kwargs(...)``)
as the tasks a run makes of them, so that each one is checked like a plain task.

A worker makes each map index's operator with ``MappedOperator.unmap``: the ``partial``
arguments, the map index's expanded values, the operator's ``__init__``. Here the same is done
for each literal expanded value, in the order of the map indexes. An expanded value that comes
from another task (an XComArg) is known only in a run: a templated argument gets the template
that reads the XCom in its place (its checks then say it needs a run), any other one makes the
task skipped as a whole; either way the task never passes unseen.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import product
from typing import TYPE_CHECKING, Any

from airflow_jupyter_provider.testing.findings import Problem, one_line

if TYPE_CHECKING:
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator


@dataclass(frozen=True)
class MapIndex:
    """One task a mapped task makes: its operator, or the problem that keeps it from being made."""

    #: None when only a run knows the map indexes (a part of the expansion comes from XCom)
    index: int | None
    operator: JupyterCondaOperator | None = None
    problem: Problem | None = None


def is_mapped_notebook_task(task: Any) -> bool:
    """Whether ``task`` is a ``JupyterCondaOperator`` task mapped with ``expand``/``expand_kwargs``."""
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

    return isinstance(task, MappedOperator) and issubclass(task.operator_class, JupyterCondaOperator)


def map_indexes(task: MappedOperator) -> Iterator[MapIndex]:
    """The tasks ``task`` makes that can be made before a run, and what cannot be checked."""
    value = task.expand_input.value
    if isinstance(value, dict):  # expand(name=[...], ...)
        yield from _expanded(task, value)
    elif isinstance(value, list):  # expand_kwargs([{...}, ...])
        for index, kwargs in enumerate(value):
            if isinstance(kwargs, dict):
                yield _unmapped(task, index, kwargs)
            else:
                text = f"the arguments of map index {index} come from {_source(kwargs)}: not checked"
                yield MapIndex(index, problem=Problem(text, skipped=True))
    else:  # expand_kwargs(an XComArg)
        text = f"expand_kwargs: the arguments come from {_source(value)}: not checked"
        yield MapIndex(None, problem=Problem(text, skipped=True))


def _expanded(task: MappedOperator, value: dict[str, Any]) -> Iterator[MapIndex]:
    """``expand``: one task per combination of the values, the last argument's changing fastest."""
    literal = {
        name: _values(given) for name, given in value.items() if isinstance(given, list | tuple | dict)
    }
    from_run = {name: given for name, given in value.items() if name not in literal}
    for name, given in from_run.items():
        if name not in task.operator_class.template_fields:
            text = f"expand: {name} comes from {_source(given)}: not checked"
            yield MapIndex(None, problem=Problem(text, skipped=True))
            return
    placeholders = {name: _xcom_template(given) for name, given in from_run.items()}
    for position, values in enumerate(product(*literal.values())):
        kwargs = {**dict(zip(literal, values, strict=True)), **placeholders}
        yield _unmapped(task, None if from_run else position, kwargs)


def _values(given: list | dict) -> list[Any]:
    """What ``expand`` maps over: the items of a list, the (key, value) pairs of a dict."""
    return list(given.items()) if isinstance(given, dict) else list(given)


def _unmapped(task: MappedOperator, index: int | None, kwargs: dict[str, Any]) -> MapIndex:
    """The operator of one map index, made as a worker makes it; its ``__init__`` errors are problems."""
    try:
        return MapIndex(index, operator=task.unmap(kwargs))
    except (ValueError, TypeError) as err:
        return MapIndex(index, problem=Problem(one_line(str(err))))


def _xcom_template(given: Any) -> str:
    """The template that reads what ``given`` (an XComArg) stands for; no sample context renders it."""
    references = [(operator.task_id, key) for operator, key in given.iter_references()]
    if not references:
        return "{{ ti.xcom_pull() }}"
    task_id, key = references[0]
    key_part = "" if key == "return_value" else f", key={key!r}"
    return f"{{{{ ti.xcom_pull(task_ids={task_id!r}{key_part}) }}}}"


def _source(given: Any) -> str:
    """Where an XComArg's value comes from, as a finding says it."""
    tasks = sorted({operator.task_id for operator, _ in given.iter_references()})
    return f"the XCom of task {', '.join(map(repr, tasks))} (known only in a run)"

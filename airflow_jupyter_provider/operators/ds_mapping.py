"""DolphinScheduler's scheduling arguments, as the BaseOperator arguments they stand for.

Run flag, task priority, worker group, retries, retry interval, timeout and description
are the DolphinScheduler names; Airflow already has a primitive for each, so the mapping
is all there is to do. What ``timeout`` does beyond ``execution_timeout`` (its strategy and
alarm) is ``timeout.py``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

#: task_priority -> priority_weight (with weight_rule="absolute"); HIGHEST runs first.
PRIORITY_WEIGHTS: dict[str, int] = {"HIGHEST": 5, "HIGH": 4, "MEDIUM": 3, "LOW": 2, "LOWEST": 1}
RUN_FLAGS = ("NORMAL", "FORBIDDEN")
DEFAULT_WORKER_GROUP = "default"


def choice(argument: str, value: Any, allowed: tuple[str, ...] | Mapping[str, Any]) -> str:
    """``value`` upper-cased if it is one of ``allowed``, else a ValueError that lists them."""
    if isinstance(value, str) and value.upper() in allowed:
        return value.upper()
    raise ValueError(f"{argument}={value!r} is not one of {', '.join(allowed)}")


def duration(argument: str, value: Any, unit: str, *, allow_zero: bool) -> timedelta:
    """A timedelta from a number of ``unit`` (e.g. "minutes") or from a timedelta."""
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        result = timedelta(**{unit: value})
    else:
        raise ValueError(f"{argument}={value!r} must be a number of {unit} or a timedelta")
    if result < timedelta(0) or (result == timedelta(0) and not allow_zero):
        raise ValueError(f"{argument}={value!r} must be {'0 or more' if allow_zero else 'more than 0'}")
    return result


def _priority(value: Any) -> dict[str, Any]:
    return {
        "priority_weight": PRIORITY_WEIGHTS[choice("task_priority", value, PRIORITY_WEIGHTS)],
        "weight_rule": "absolute",
    }


def _pool(value: Any) -> dict[str, Any]:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"worker_group={value!r} must be a pool name")
    return {"pool": "default_pool" if value.lower() == DEFAULT_WORKER_GROUP else value}


def _retry_delay(value: Any) -> dict[str, Any]:
    return {"retry_delay": duration("retry_interval", value, "minutes", allow_zero=True)}


def _execution_timeout(value: Any) -> dict[str, Any]:
    return {"execution_timeout": duration("timeout", value, "minutes", allow_zero=False)}


def _doc_md(value: Any) -> dict[str, Any]:
    if not isinstance(value, str):
        raise ValueError(f"description={value!r} must be text")
    return {"doc_md": value}


@dataclass(frozen=True)
class ArgumentMapping:
    """One DolphinScheduler argument, the BaseOperator arguments it sets, and how it sets them."""

    argument: str
    targets: tuple[str, ...]
    convert: Callable[[Any], dict[str, Any]]


MAPPINGS = (
    ArgumentMapping("task_priority", ("priority_weight", "weight_rule"), _priority),
    ArgumentMapping("worker_group", ("pool",), _pool),
    ArgumentMapping("retry_interval", ("retry_delay",), _retry_delay),
    ArgumentMapping("timeout", ("execution_timeout",), _execution_timeout),
    ArgumentMapping("description", ("doc_md",), _doc_md),
)


#: The DolphinScheduler arguments that set BaseOperator arguments.
SCHEDULING_ARGUMENTS = tuple(mapping.argument for mapping in MAPPINGS)


def base_operator_arguments(arguments: Mapping[str, Any], explicit: Mapping[str, Any]) -> dict[str, Any]:
    """BaseOperator keyword arguments for the DolphinScheduler ``arguments`` that are set.

    A DolphinScheduler argument and an explicit BaseOperator argument for the same thing is an
    error rather than a silent choice between them. ``timeout`` is passed only when its
    strategy fails the task (see ``TimeoutPolicy.fails_task``).
    """
    retries = explicit.get("retries")
    if isinstance(retries, int) and not isinstance(retries, bool) and retries < 0:
        raise ValueError(f"retries={retries!r} must be 0 or more")
    converted: dict[str, Any] = {}
    for mapping in MAPPINGS:
        value = arguments.get(mapping.argument)
        if value is None:
            continue
        for target in mapping.targets:
            if target in explicit:
                raise ValueError(
                    f"{mapping.argument}={value!r} and {target}={explicit[target]!r} both set {target}; "
                    f"pass only one of them"
                )
        converted.update(mapping.convert(value))
    return converted

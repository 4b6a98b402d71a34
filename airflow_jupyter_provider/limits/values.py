"""The Jupyter task's resource limits, ``cpu_quota`` and ``max_memory``, as values.

Validated once, when the DAG file is parsed; every mechanism that enforces them (cgroup v2,
cgroup v1, a Kubernetes pod) reads them from here, so they all agree on units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: What the Jupyter task writes for "no limit".
UNLIMITED = -1
#: max_memory is in MB of 2**20 bytes, as Kubernetes' "Mi".
MB = 1024 * 1024

#: argument -> (unit as shown after the value, what a valid value is)
_UNITS: dict[str, tuple[str, str]] = {
    "cpu_quota": ("% of one core", "a whole percentage of one core greater than 0"),
    "max_memory": (" MB", "a whole number of MB greater than 0"),
}


@dataclass(frozen=True)
class Limit:
    """One limit the run asked for: ``argument`` is ``cpu_quota`` or ``max_memory``."""

    argument: str
    value: int

    def __str__(self) -> str:
        return f"{self.argument}={self.value}{_UNITS[self.argument][0]}"


def _limit(argument: str, value: Any) -> Limit | None:
    if value is None or value == UNLIMITED:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{argument}={value!r} must be {_UNITS[argument][1]}, or -1 for no limit")
    return Limit(argument, value)


def requested_limits(cpu_quota: Any, max_memory: Any) -> tuple[Limit, ...]:
    """The limits that are set; ``None`` and ``-1`` mean unlimited and are left out."""
    limits = (_limit("cpu_quota", cpu_quota), _limit("max_memory", max_memory))
    return tuple(limit for limit in limits if limit is not None)

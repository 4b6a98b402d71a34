"""cgroup v1: one group per controller hierarchy (cpu, cpuacct, memory), each the run joins.

Each hierarchy is a folder of ``cgroup_mount`` named after its controller; where controllers
share a hierarchy (``cpu,cpuacct``), those names are links to one folder and the run gets one
group there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from airflow_jupyter_provider.config import CgroupSettings
from airflow_jupyter_provider.limits.group import Created, Reading
from airflow_jupyter_provider.limits.hierarchy import (
    CPU_PERIOD_US,
    own_cgroups,
    parent_directory,
)
from airflow_jupyter_provider.limits.values import MB, Limit


@dataclass(frozen=True)
class Control:
    """A hierarchy a limit needs, the interface files that set the limit there, and what it counts."""

    controller: str
    #: a file every group of this controller has: tells a v1 hierarchy of it from any folder
    marker: str
    settings: dict[str, str] = field(default_factory=dict)
    optional: frozenset[str] = frozenset()
    #: the file the task log names as enforcing the limit
    main_file: str = ""
    #: reading name -> (file, key of its "key value" line or None, scale)
    readings: dict[str, tuple[str, str | None, float]] = field(default_factory=dict)
    #: hierarchies joined too where they can be, to count what this one limits
    companions: tuple[Control, ...] = ()


#: Joined by runs with a CPU limit so that the run's CPU time is counted apart from the worker's.
CPU_ACCOUNTING = Control("cpuacct", "cpuacct.usage", readings={"cpu_seconds": ("cpuacct.usage", None, 1e-9)})


def _cpu(limit: Limit) -> Control:
    quota = limit.value * CPU_PERIOD_US // 100
    return Control(
        "cpu",
        "cpu.cfs_quota_us",
        {"cpu.cfs_period_us": str(CPU_PERIOD_US), "cpu.cfs_quota_us": str(quota)},
        main_file="cpu.cfs_quota_us",
        companions=(CPU_ACCOUNTING,),
    )


def _memory(limit: Limit) -> Control:
    # memsw (memory + swap) at the same value: past the limit the run is OOM-killed, not swapped out.
    size = str(limit.value * MB)
    return Control(
        "memory",
        "memory.limit_in_bytes",
        {"memory.limit_in_bytes": size, "memory.memsw.limit_in_bytes": size},
        optional=frozenset({"memory.memsw.limit_in_bytes"}),
        main_file="memory.limit_in_bytes",
        readings={
            "oom_kills": ("memory.oom_control", "oom_kill", 1),
            "peak_memory_mb": ("memory.max_usage_in_bytes", None, 1 / MB),
        },
    )


CONTROLS = {"cpu_quota": _cpu, "max_memory": _memory}


class CgroupV1:
    name = "cgroup v1"

    def create(self, limits: Sequence[Limit], settings: CgroupSettings, group_name: str) -> Created:
        created = Created()
        own = own_cgroups()
        made: dict[Path, Path] = {}  # resolved hierarchy -> the run's group in it
        used: list[Path] = []
        for limit in limits:
            control = CONTROLS[limit.argument](limit)
            try:
                directory = self._group(control, settings, own, group_name, made)
            except _Unavailable as err:
                created.reasons[limit] = str(err)
                continue
            if not created.apply(self.name, limit, directory, control):
                continue
            self._use(created, control, directory, used)
            for companion in control.companions:
                with contextlib.suppress(_Unavailable):  # counting is a bonus; the limit holds without it
                    self._use(
                        created, companion, self._group(companion, settings, own, group_name, made), used
                    )
        for directory in made.values():
            if directory not in used:
                with contextlib.suppress(OSError):
                    directory.rmdir()
        created.directories.extend(used)
        return created

    @staticmethod
    def _group(
        control: Control,
        settings: CgroupSettings,
        own: dict[str, str],
        group_name: str,
        made: dict[Path, Path],
    ) -> Path:
        hierarchy = settings.mount / control.controller
        if not (hierarchy / control.marker).is_file():
            raise _Unavailable(f"no cgroup v1 {control.controller} hierarchy at {hierarchy}")
        resolved = hierarchy.resolve()
        if resolved in made:
            return made[resolved]
        parent = parent_directory(hierarchy, settings.parent, own.get(control.controller))
        if parent is None:
            raise _Unavailable(f"/proc/self/cgroup names no group of the {control.controller} hierarchy")
        directory = parent / group_name
        try:
            directory.mkdir()
        except OSError as err:
            raise _Unavailable(f"cannot create {directory}: {err.strerror}") from err
        made[resolved] = directory
        return directory

    @staticmethod
    def _use(created: Created, control: Control, directory: Path, used: list[Path]) -> None:
        if directory not in used:
            used.append(directory)
        for name, (file, key, scale) in control.readings.items():
            created.readings.setdefault(name, Reading(directory / file, key, scale))


class _Unavailable(Exception):
    """This hierarchy cannot take the run's group; the message says why."""

"""cgroup v2: one group for the run under a parent that passes the needed controllers on.

The unified hierarchy is at ``cgroup_mount`` itself (a pure v2 system) or at
``cgroup_mount/unified`` (systemd's hybrid layout, where it usually has no controllers).

No ``cgroup.subtree_control`` is written, on purpose. The run's own group must stay a leaf: it
holds the run's processes, and v2 lets no group that enables controllers for children hold any.
The parent's is the admin's, set once (the README's "Resource limits"): enabling controllers
there from every run would change a group other runs share, and in the worker's own group it
cannot work at all (that group holds the worker). So a parent that does not pass a controller on
is reported, with the fix, rather than changed.

OOM kills are read from ``memory.events``, not ``memory.events.local``: the limit in
``memory.max`` covers the whole subtree, so an OOM kill it causes in a group the notebook made
below the run's (with rights to do so) is the run's too, and only ``memory.events`` counts it
(``.local`` counts the run's group alone, and kernels before 5.2 lack it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
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
    """The controller a limit needs and the interface files that set it."""

    controller: str
    #: the file the task log names as enforcing the limit
    main_file: str
    settings: dict[str, str]
    optional: frozenset[str] = frozenset()


def _cpu(limit: Limit) -> Control:
    return Control("cpu", "cpu.max", {"cpu.max": f"{limit.value * CPU_PERIOD_US // 100} {CPU_PERIOD_US}"})


def _memory(limit: Limit) -> Control:
    # No swap: past memory.max the run is OOM-killed, as the Jupyter task promises, not slowed down.
    return Control(
        "memory",
        "memory.max",
        {"memory.max": str(limit.value * MB), "memory.swap.max": "0"},
        optional=frozenset({"memory.swap.max"}),
    )


CONTROLS = {"cpu_quota": _cpu, "max_memory": _memory}

BUSY_PARENT = (
    " (and cannot be while processes live in that group, the worker among them: point "
    "[jupyter_conda] cgroup_parent at a group prepared for notebook runs)"
)


def _words(path: Path) -> list[str]:
    try:
        return path.read_text().split()
    except OSError:
        return []


class CgroupV2:
    name = "cgroup v2"

    def create(self, limits: Sequence[Limit], settings: CgroupSettings, group_name: str) -> Created:
        candidates = (settings.mount, settings.mount / "unified")
        hierarchy = next((path for path in candidates if (path / "cgroup.controllers").is_file()), None)
        if hierarchy is None:
            reason = f"no cgroup2 file system at {' or '.join(map(str, candidates))}"
            return Created(reasons=dict.fromkeys(limits, reason))
        parent = parent_directory(hierarchy, settings.parent, own_cgroups().get(""))
        if parent is None or not parent.is_dir():
            reason = f"the parent group {parent or '(none in /proc/self/cgroup)'} does not exist"
            return Created(reasons=dict.fromkeys(limits, reason))
        controls = {limit: CONTROLS[limit.argument](limit) for limit in limits}
        created = Created(reasons=self._unusable(controls, parent, hierarchy))
        wanted = {limit: control for limit, control in controls.items() if limit not in created.reasons}
        if not wanted:
            return created
        directory = parent / group_name
        try:
            directory.mkdir()
        except OSError as err:
            created.reasons.update(dict.fromkeys(wanted, f"cannot create {directory}: {err.strerror}"))
            return created
        for limit, control in wanted.items():
            created.apply(self.name, limit, directory, control)
        if not created.enforced:
            with contextlib.suppress(OSError):
                directory.rmdir()
            return created
        created.directories.append(directory)
        created.readings["cpu_seconds"] = Reading(directory / "cpu.stat", "usage_usec", 1e-6)
        if any(limit.argument == "max_memory" for limit in created.enforced):
            created.readings["oom_kills"] = Reading(directory / "memory.events", "oom_kill")
            created.readings["peak_memory_mb"] = Reading(directory / "memory.peak", scale=1 / MB)
        return created

    @staticmethod
    def _unusable(controls: dict[Limit, Control], parent: Path, hierarchy: Path) -> dict[Limit, str]:
        """limit -> why its controller cannot be used in a child of ``parent``."""
        enabled, available = _words(parent / "cgroup.subtree_control"), _words(parent / "cgroup.controllers")
        # cgroup v2 lets no group but the root hold processes and pass controllers on to children.
        busy = parent != hierarchy and _words(parent / "cgroup.procs")
        reasons = {}
        for limit, control in controls.items():
            if control.controller not in available:
                reasons[limit] = (
                    f"the {control.controller} controller is not available in {parent} "
                    f"(its cgroup.controllers lists {' '.join(available) or 'none'})"
                )
            elif control.controller not in enabled:
                reasons[limit] = (
                    f"the {control.controller} controller is not enabled in {parent}/cgroup.subtree_control"
                    + (BUSY_PARENT if busy else "")
                )
        return reasons

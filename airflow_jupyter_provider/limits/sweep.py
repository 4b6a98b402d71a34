"""Stale run groups: a ``jupyter-conda-<task pid>-<random>`` group whose task process is gone.

The guardian (``run/guardian.py``) removes a run's groups when its task process dies. A group can
still outlive its run: the guardian killed along with the task process (a ``kill -9`` of the
whole process group, say), or a worker that crashed with the machine before the groups were
removed. Each run sweeps such groups before it makes its own (``enforce.enforced``), so a stale
group is gone at the latest when the next run on the worker starts: its processes are stopped,
it is removed, and the run's task log says so.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator
from logging import Logger
from pathlib import Path

import psutil

from airflow_jupyter_provider.config import CgroupSettings
from airflow_jupyter_provider.limits.group import RunGroup
from airflow_jupyter_provider.limits.hierarchy import own_cgroups, parent_directory

#: What ``hierarchy.run_group_name`` makes; the number is the task process's pid.
RUN_GROUP = re.compile(r"jupyter-conda-(\d+)-[0-9a-f]+")
#: The cgroup v1 hierarchies ``v1.py`` makes run groups in.
V1_HIERARCHIES = ("cpu", "cpuacct", "memory")


def sweep_stale_groups(settings: CgroupSettings, log: Logger) -> None:
    """Stop the processes of every stale run group under the run groups' parents and remove it."""
    for directory, task_pid in stale_groups(settings):
        log.warning(
            "Removing the cgroup %s of an earlier run: task process %d, which made it, is gone",
            directory,
            task_pid,
        )
        RunGroup(directories=[directory]).close(log)


def stale_groups(settings: CgroupSettings) -> Iterator[tuple[Path, int]]:
    """Each run group whose task process is gone, with that process's pid."""
    for parent in run_group_parents(settings):
        for directory in sorted(parent.glob("jupyter-conda-*")):
            match = RUN_GROUP.fullmatch(directory.name)
            try:
                made = directory.stat()
            except FileNotFoundError:  # another run swept it meanwhile
                continue
            if match and stat.S_ISDIR(made.st_mode) and not owner_lives(int(match[1]), made.st_ctime):
                yield directory, int(match[1])


def run_group_parents(settings: CgroupSettings) -> list[Path]:
    """Where ``v1.py`` and ``v2.py`` make run groups under these settings (each folder once)."""
    own = own_cgroups()
    hierarchies = [(settings.mount / name, own.get(name)) for name in V1_HIERARCHIES]
    hierarchies += [
        (path, own.get("")) for path in (settings.mount, settings.mount / "unified") if is_v2(path)
    ]
    parents = set()
    for hierarchy, own_group in hierarchies:
        parent = parent_directory(hierarchy, settings.parent, own_group)
        if parent is not None and parent.is_dir():
            parents.add(parent.resolve())
    return sorted(parents)


def is_v2(path: Path) -> bool:
    return (path / "cgroup.controllers").is_file()


def owner_lives(task_pid: int, made: float) -> bool:
    """Whether the task process that made a group at the time ``made`` still runs.

    A pid is reused once its process is gone: a process with that pid that started after the
    group was made is not its owner. psutil's start times count from the boot time in whole
    seconds, which makes a process look up to a second older, never younger: a group is never
    taken from a live owner, at worst it is swept by a later run.
    """
    try:
        process = psutil.Process(task_pid)
        return process.status() != psutil.STATUS_ZOMBIE and process.create_time() <= made
    except psutil.NoSuchProcess:
        return False

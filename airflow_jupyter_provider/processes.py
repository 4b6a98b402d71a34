"""Ending processes: SIGTERM first, SIGKILL for those that outlive a grace period.

Used by both the run's process tree (``run/process.py``) and its cgroups (``limits/group.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import psutil

#: Seconds between SIGTERM and SIGKILL when a run is stopped. Shorter than the 5 s the Airflow
#: supervisor waits between its own SIGTERM and SIGKILL to the task process, so the task process
#: is still alive to SIGKILL the run and remove its cgroups.
KILL_GRACE_SECONDS = 3.0


def existing(pids: Iterable[int]) -> list[psutil.Process]:
    """The processes of ``pids`` that still exist."""
    found = []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            found.append(psutil.Process(pid))
    return found


def terminate(processes: Iterable[psutil.Process], grace: float = KILL_GRACE_SECONDS) -> None:
    """SIGTERM every process, then SIGKILL those still alive after ``grace`` seconds."""
    processes = list(processes)
    for proc in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
    _, alive = psutil.wait_procs(processes, timeout=grace)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()

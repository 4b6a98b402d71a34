"""The task process keeps its secrets from the notebook it runs.

Under ``run_as_user`` the notebook runs as the same user as the task process, whose environment
holds the worker's configuration and whose memory and open files hold Airflow's secrets and its
socket to the supervisor. A process that marks itself non-dumpable (``PR_SET_DUMPABLE`` 0) makes
its ``/proc/<pid>/environ``, ``mem``, ``fd`` and the like root's, and refuses ptrace to processes
of its own user: the kernel then keeps the notebook out. The mark is not inherited across
``exec``, so the run's own processes (bash, papermill, the kernel) stay as they were.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from functools import cache
from logging import Logger

PR_SET_DUMPABLE = 4


@cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def shield_task_process(log: Logger) -> None:
    """Mark this (the task) process non-dumpable before it starts a notebook; a warning where the
    kernel has no such mark (not Linux)."""
    try:
        if _libc().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    except (OSError, AttributeError) as err:
        log.warning(
            "The task process could not mark itself non-dumpable (%s): the notebook, running as the "
            "same user, may read this process's environment and memory",
            err,
        )

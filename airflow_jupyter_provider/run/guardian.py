"""The guardian: a small process between the task process and the run, so that nothing of the
run outlives the task process, however it dies (SIGKILL from the OOM killer, a supervisor or
an admin included).

``launcher.command`` puts it first on the run's command line::

    python -I -S .../airflow_jupyter_provider/run/guardian.py --task-pid PID [--cgroup DIR]... -- COMMAND...

Before it starts COMMAND it asks the kernel for two things, so that no polling is needed:

- a parent-death signal (``PR_SET_PDEATHSIG``): the kernel signals the guardian when the task
  process dies, and a killed process can do nothing to prevent it;
- to be the run's child subreaper (``PR_SET_CHILD_SUBREAPER``): a process of the run whose
  parent exits (a double-forked daemon) becomes the guardian's child instead of init's, so every
  such daemon is still among the guardian's descendants.

When the task process dies, the guardian stops the run (its descendants and the processes in the
run's cgroups ``DIR``: SIGTERM, then SIGKILL after the grace period), removes those cgroups and
exits. Otherwise it reaps what reparents to it and, once COMMAND ends, ends the same way (exit
status or signal), so the hook reads the launcher's exit statuses unchanged.

It starts for every task, so until it must stop a run it imports only a few modules of the
standard library, without even site-packages (``-S``): it enables them, then imports psutil and
the modules that stop processes and remove groups, when the task process has died.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Sequence

# Functions that never return say so in words, not with typing.NoReturn: importing typing
# would add 7 ms to every task's start.

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
#: What the kernel sends the guardian when the thread that started it dies.
PARENT_DEATH_SIGNAL = signal.SIGUSR1
#: Stopping the run is the task process's job (``StreamedProcess.stop`` signals the whole tree);
#: the guardian outlives its command so that it still catches orphans while the run stops.
IGNORED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
#: Python ignores these itself; COMMAND gets the defaults any program expects.
PYTHON_IGNORED_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)
#: Rounds of SIGTERM-then-SIGKILL on the run's processes; each catches what forked during the last.
STOP_ROUNDS = 3


class TaskProcessGone(Exception):
    """The task process died: the run must go too."""


def main(argv: Sequence[str]) -> None:
    """Watch the task process from before COMMAND starts, so that no moment of the run is
    unwatched; never returns."""
    task_pid, cgroups, command = parse(argv)
    signal.signal(PARENT_DEATH_SIGNAL, lambda *_: check_parent(task_pid))
    for signum in IGNORED_SIGNALS:
        signal.signal(signum, lambda *_: None)
    try:
        prctl(PR_SET_CHILD_SUBREAPER, 1)
        prctl(PR_SET_PDEATHSIG, PARENT_DEATH_SIGNAL)
        check_parent(task_pid)  # it may have died before the kernel was asked to tell
        status = wait_for(spawn(command))
    except TaskProcessGone:
        stop_run(cgroups)
        sys.exit(0)
    exit_as(status)


def parse(argv: Sequence[str]) -> tuple[int, list[str], list[str]]:
    """``--task-pid PID [--cgroup DIR]... -- COMMAND...``, as ``launcher.command`` writes it."""
    args = list(argv)
    if args[:1] != ["--task-pid"] or "--" not in args:
        raise SystemExit(f"usage: guardian --task-pid PID [--cgroup DIR]... -- COMMAND...; got {args}")
    task_pid, args = int(args[1]), args[2:]
    cgroups = []
    while args[0] == "--cgroup":
        cgroups.append(args[1])
        args = args[2:]
    return task_pid, cgroups, args[1:]


def prctl(option: int, value: int) -> None:
    """prctl(2) through libc: the standard library has no binding for it."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl({option}): {os.strerror(errno)}")


def check_parent(task_pid: int) -> None:
    """Raise :class:`TaskProcessGone` unless the task process still is the guardian's parent.

    The parent-death signal comes when the *thread* that started the guardian ends: the task
    process may well live on (the guardian is then reparented to another of its threads, and
    its parent pid does not change). The setting stays in place and the kernel sends the
    signal again when that thread ends, so the guardian just goes on watching.
    """
    if os.getppid() != task_pid:
        raise TaskProcessGone


def spawn(command: list[str]) -> int:
    """Start ``command``; exit as a shell does (127, the reason on stderr) if it cannot start."""
    try:
        return os.posix_spawnp(command[0], command, os.environ, setsigdef=PYTHON_IGNORED_SIGNALS)
    except OSError as err:
        print(f"guardian: cannot run {command[0]}: {err.strerror}", file=sys.stderr)
        sys.exit(127)


def wait_for(child: int) -> int:
    """Reap every process that ends as the guardian's child; return ``child``'s wait status."""
    while True:
        pid, status = os.waitpid(-1, 0)
        if pid == child:
            return status


def exit_as(status: int) -> None:
    """End with the exit status ``status`` tells, or from the signal that killed the command;
    never returns."""
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        if signum != signal.SIGKILL:
            signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
    sys.exit(os.waitstatus_to_exitcode(status))


def stop_run(cgroups: list[str]) -> None:
    """Stop every process of the run and remove its cgroups.

    The task log went with the task process, so nothing is written (the output pipe has no
    reader any more). A process may fork while it is being stopped, and its orphans reparent to
    the guardian: another round stops them.
    """
    for signum in (PARENT_DEATH_SIGNAL, *IGNORED_SIGNALS):
        signal.signal(signum, signal.SIG_IGN)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), sys.stdout.fileno())
        os.dup2(devnull.fileno(), sys.stderr.fileno())
    import logging
    import site
    from pathlib import Path

    site.main()  # started with -S: site-packages (psutil, this package) are on sys.path from here
    import psutil

    from airflow_jupyter_provider.limits.group import RunGroup
    from airflow_jupyter_provider.processes import existing, terminate

    group = RunGroup(directories=[Path(directory) for directory in cgroups])
    guardian = psutil.Process()
    for _ in range(STOP_ROUNDS):
        victims = [*guardian.children(recursive=True), *existing(group.pids())]
        if not victims:
            break
        terminate(victims)
    group.close(logging.getLogger(__name__))


if __name__ == "__main__":
    main(sys.argv[1:])

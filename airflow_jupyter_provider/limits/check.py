"""Does this worker enforce ``cpu_quota`` and ``max_memory``? One command answers, on the worker:

    python -m airflow_jupyter_provider.limits.check --cpu-quota 50 --max-memory 256

It does what a run with those limits does, without a notebook: reads the worker's
``[jupyter_conda]`` settings, makes the run's group(s) with ``enforce_limits`` (so it prints the
lines a task log would), starts a small process that joins them as the run's shell does, reads
back what the kernel shows (the limit files, the process in ``cgroup.procs``), then removes the
groups. Exit status 0 when every limit asked for is enforced, 1 when one is not, 2 for bad
arguments or settings.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from airflow_jupyter_provider.config import CONFIG_SECTION, CgroupSettings
from airflow_jupyter_provider.exceptions import LimitsUnavailable, SettingError
from airflow_jupyter_provider.limits.enforce import HOW_TO_GRANT, enforce_limits
from airflow_jupyter_provider.limits.group import RunGroup
from airflow_jupyter_provider.limits.values import Limit, requested_limits

#: The run's shell joins its groups this way (run/run_notebook.sh); the paths are arguments.
JOIN_THEN_WAIT = 'for procs; do echo "$$" > "$procs" || exit 95; done; exec sleep 60'
#: Seconds the test process has to join every group.
JOIN_TIMEOUT_SECONDS = 10.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        limits = requested_limits(args.cpu_quota, args.max_memory)
    except ValueError as err:
        parser.error(str(err))
    if not limits:
        parser.error("give --cpu-quota, --max-memory or both (-1, no limit, needs no cgroup)")
    try:
        settings = CgroupSettings.load()
    except SettingError as err:
        print(err)
        return 2
    log = _report_log()
    log.info(_describe(settings))
    try:
        group = enforce_limits(limits, settings, log)
    except LimitsUnavailable as err:
        log.info("NOT ENFORCED: %s", err)
        return 1
    directories = list(group.directories)
    try:
        shown = _join_and_read_back(group, log)
    finally:
        group.close(log)
    if removed := [directory for directory in directories if not directory.exists()]:
        log.info("Removed the check's groups: %s", ", ".join(map(str, removed)))
    return _verdict(limits, group, shown, log)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_jupyter_provider.limits.check",
        description="Check that this worker enforces a run's cpu_quota and max_memory, as a run would.",
    )
    parser.add_argument("--cpu-quota", type=int, help="percent of one core, as the operator's cpu_quota")
    parser.add_argument("--max-memory", type=int, help="MB, as the operator's max_memory")
    return parser


def _report_log() -> logging.Logger:
    """The report goes to stdout, line by line, as the task log would show it."""
    log = logging.getLogger(__name__)
    log.setLevel(logging.INFO)
    log.propagate = False
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.handlers = [handler]
    return log


def _describe(settings: CgroupSettings) -> str:
    parent = settings.parent or "(empty: the cgroup of this command stands in for the worker's own)"
    return (
        f"[{CONFIG_SECTION}] cgroup_mount = {settings.mount}, cgroup_parent = {parent}, "
        f"unenforceable_limits = {settings.unenforceable_limits}"
    )


def _join_and_read_back(group: RunGroup, log: logging.Logger) -> bool:
    """Move a process into the groups as a run's shell moves itself; compare each limit file with
    what was written. True when the process is in every group and every file shows its value."""
    if not group.directories:
        return True  # nothing to join: no limit is enforced, which the verdict says
    files = [str(path) for path in group.procs_files()]
    process = subprocess.Popen(
        ["sh", "-c", JOIN_THEN_WAIT, "sh", *files],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if not _joined(group, process):
            error = process.stderr.read().strip() if process.poll() is not None else "timed out"
            log.info("NOT ENFORCED: a process could not join the run's groups: %s", error or "(no message)")
            return False
        log.info("A test process (pid %d) joined %s", process.pid, ", ".join(map(str, group.directories)))
        return all([_shows(limit, group, log) for limit in group.enforced])
    finally:
        process.kill()
        process.wait()
        process.stderr.close()


def _joined(group: RunGroup, process: subprocess.Popen) -> bool:
    """Whether ``process`` shows in every group's ``cgroup.procs`` before it ends or time is up."""
    deadline = time.monotonic() + JOIN_TIMEOUT_SECONDS
    while process.poll() is None and time.monotonic() < deadline:
        if all(str(process.pid) in _read(path).split() for path in group.procs_files()):
            return True
        time.sleep(0.02)
    return False


def _shows(limit: Limit, group: RunGroup, log: logging.Logger) -> bool:
    where = group.enforced[limit]
    shown = _read(where.file).strip()
    if shown.split() == where.value.split():
        log.info("The kernel shows %s = %s: %s holds", where.file, shown, limit)
        return True
    log.info("NOT ENFORCED: %s shows %r, not the %r written for %s", where.file, shown, where.value, limit)
    return False


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as err:
        return f"(unreadable: {err.strerror})"


def _verdict(limits: Sequence[Limit], group: RunGroup, shown: bool, log: logging.Logger) -> int:
    missing = [limit for limit in limits if limit not in group.enforced]
    if missing:
        log.info("NOT ENFORCED: %s. %s", ", ".join(map(str, missing)), HOW_TO_GRANT)
    if missing or not shown:
        return 1
    log.info("Every limit asked for is enforced on this worker.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The cgroups one run joins, what the kernel counts in them, and their removal."""

from __future__ import annotations

import contextlib
import errno
import time
from dataclasses import dataclass, field
from logging import Logger
from pathlib import Path
from typing import Protocol

import psutil

from airflow_jupyter_provider.limits.values import Limit
from airflow_jupyter_provider.processes import existing, terminate

#: Seconds to wait for the processes of a stopped run to leave its groups before giving up on rmdir.
REMOVE_TIMEOUT_SECONDS = 10.0


class Control(Protocol):
    """The interface files that set one limit in one group."""

    #: the file the task log names as enforcing the limit
    main_file: str
    #: file -> value to write
    settings: dict[str, str]
    #: files skipped where the kernel lacks them (no swap accounting, say)
    optional: frozenset[str]


def write_settings(directory: Path, settings: dict[str, str], optional: frozenset[str]) -> None:
    """Write each interface file; ``optional`` ones are skipped where the kernel lacks them (no swap)."""
    for name, value in settings.items():
        if name in optional and not (directory / name).exists():
            continue
        (directory / name).write_text(value)


@dataclass(frozen=True)
class Reading:
    """One number the kernel keeps for a cgroup: a whole file, or the ``key value`` line ``key``."""

    path: Path
    key: str | None = None
    #: multiplies the raw number into the unit the reading is named for
    scale: float = 1.0

    def read(self) -> float | None:
        try:
            text = self.path.read_text()
        except OSError:
            return None
        if self.key is None:
            return int(text.split()[0]) * self.scale
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == self.key:
                return int(value) * self.scale
        return None


@dataclass(frozen=True)
class Enforcement:
    """Where one limit is enforced: the file written and its value, so that it can be read back."""

    mechanism: str
    file: Path
    value: str

    def __str__(self) -> str:
        return f"{self.mechanism} ({self.file} = {self.value})"


@dataclass
class Created:
    """What one mechanism made for a run: its groups, the limits they enforce, and why not the others."""

    directories: list[Path] = field(default_factory=list)
    #: limit -> where it is enforced (its text is what the task log says)
    enforced: dict[Limit, Enforcement] = field(default_factory=dict)
    #: "oom_kills", "cpu_seconds", "peak_memory_mb" -> where the kernel counts it
    readings: dict[str, Reading] = field(default_factory=dict)
    #: limit -> why this mechanism cannot enforce it
    reasons: dict[Limit, str] = field(default_factory=dict)

    def apply(self, mechanism: str, limit: Limit, directory: Path, control: Control) -> bool:
        """Write ``control``'s interface files into ``directory``; record ``limit`` as enforced
        there, or why it is not. Both cgroup versions set every limit through this."""
        try:
            write_settings(directory, control.settings, control.optional)
        except OSError as err:
            self.reasons[limit] = f"cannot write {directory}/{control.main_file}: {err.strerror}"
            return False
        value = control.settings[control.main_file]
        self.enforced[limit] = Enforcement(mechanism, directory / control.main_file, value)
        return True


@dataclass
class RunGroup:
    """Every cgroup directory of one run (one for v2, one per hierarchy for v1), possibly none."""

    directories: list[Path] = field(default_factory=list)
    enforced: dict[Limit, Enforcement] = field(default_factory=dict)
    readings: dict[str, Reading] = field(default_factory=dict)
    #: the OOM kill counter when the group was made, before any process of the run joined it
    oom_kills_at_start: float = 0

    def add(self, created: Created) -> None:
        self.directories.extend(created.directories)
        self.enforced.update(created.enforced)
        for name, reading in created.readings.items():
            self.readings.setdefault(name, reading)
        if "oom_kills" in created.readings:
            self.oom_kills_at_start = self.readings["oom_kills"].read() or 0

    def procs_files(self) -> list[Path]:
        """The ``cgroup.procs`` file of each group: the run's shell joins them before anything else."""
        return [directory / "cgroup.procs" for directory in self.directories]

    def pids(self) -> set[int]:
        """The processes in the run's groups now, daemonized grandchildren included."""
        return _pids_in(self.directories)

    def exceeded_memory_limit(self) -> Limit | None:
        """The memory limit, if the kernel's OOM killer ended a process of the run for it.

        Read from the group's own OOM kill counter, compared with its value before the run: an
        exit status cannot tell an OOM kill from a kernel killed by someone's ``kill -9`` or a
        notebook that killed itself, and only the OOM killer counts there.
        """
        reading = self.readings.get("oom_kills")
        if reading is None or (reading.read() or 0) <= self.oom_kills_at_start:
            return None
        return next(limit for limit in self.enforced if limit.argument == "max_memory")

    def usage(self) -> str | None:
        """What the kernel counted for the run, e.g. '4.9 s of CPU time, at most 130 MB of memory'."""
        parts = []
        if (cpu := self.readings.get("cpu_seconds")) and (seconds := cpu.read()) is not None:
            parts.append(f"{seconds:.1f} s of CPU time")
        if (peak := self.readings.get("peak_memory_mb")) and (megabytes := peak.read()) is not None:
            parts.append(f"at most {megabytes:.0f} MB of memory")
        return ", ".join(parts) or None

    def close(self, log: Logger) -> None:
        """Stop what is left of the run in its groups, then remove the groups."""
        # Only those still there: a process listed a moment ago may have ended since.
        leftovers = existing(self.pids())
        if leftovers:
            log.warning(
                "%d process(es) the notebook started still ran when the run ended; stopping them: %s",
                len(leftovers),
                ", ".join(str(process.pid) for process in sorted(leftovers, key=lambda p: p.pid)),
            )
            terminate(leftovers)
        for directory in reversed(self.directories):
            _remove(directory, log)
        self.directories.clear()


def _pids_in(directories: list[Path]) -> set[int]:
    found: set[int] = set()
    for directory in directories:
        with contextlib.suppress(OSError):
            found.update(int(pid) for pid in (directory / "cgroup.procs").read_text().split())
    return found


def _remove(directory: Path, log: Logger) -> None:
    """rmdir ``directory``; a group empties only once its exiting processes are gone, so keep trying."""
    deadline = time.monotonic() + REMOVE_TIMEOUT_SECONDS
    while True:
        try:
            directory.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as err:
            if err.errno != errno.EBUSY or time.monotonic() > deadline:
                log.warning("Could not remove the run's cgroup %s: %s", directory, err)
                return
        # Something forked while the group was being emptied: kill it too.
        for process in existing(_pids_in([directory])):
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        time.sleep(0.05)

"""What both cgroup versions share: this process's own cgroups, and making a run's group."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

#: The CPU quota is given per period of this many microseconds (the kernel's default period).
CPU_PERIOD_US = 100_000


def own_cgroups(proc_file: Path = Path("/proc/self/cgroup")) -> dict[str, str]:
    """Controller -> this process's cgroup path in that controller's hierarchy.

    Lines of ``/proc/self/cgroup`` are ``ID:CONTROLLERS:PATH``; the cgroup v2 line has no
    controllers and is returned under the key ``""``.
    """
    found: dict[str, str] = {}
    for line in proc_file.read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            found[controller] = path
    return found


def run_group_name() -> str:
    """A name no other run uses; the task process's pid in it tells an admin whose group it is."""
    return f"jupyter-conda-{os.getpid()}-{secrets.token_hex(4)}"


def parent_directory(hierarchy: Path, configured: str, own: str | None) -> Path | None:
    """The group new run groups go under: ``configured`` if set, else this process's own group."""
    path = configured or own
    return None if path is None else hierarchy / path.lstrip("/")

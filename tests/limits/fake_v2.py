"""A cgroup v2 file system as the kernel shows it, in a temporary folder: for testing the v2 path
on a machine whose cgroups are v1.

The kernel is the part that is not on this machine, so the fake plays its part and nothing
else: a group's interface files appear when the group is made with ``mkdir`` (which ones
depends on the controllers its parent enables for it), and ``rmdir`` removes a group only when
it has no child groups and no live process in its ``cgroup.procs``. Everything else is plain
files that the code under test reads and writes as it would on a real v2 mount: the run's shell
writes its pid into the fake ``cgroup.procs``. :meth:`FakeCgroup2.install` makes ``mkdir`` and
``rmdir`` under the fake root behave so, in this process only; the test itself plays the
kernel's counters (``cpu.stat``, ``memory.peak``, ``memory.events``) by writing them.
"""

from __future__ import annotations

import errno
import os
import pathlib
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

#: What a current kernel's root group offers.
ROOT_CONTROLLERS = "cpuset cpu io memory hugetlb pids rdma misc"


def memory_events(oom_kill: int = 0) -> str:
    """``memory.events`` as the kernel shows it, with ``oom_kill`` OOM kills counted."""
    return f"low 0\nhigh 0\nmax 0\noom {oom_kill}\noom_kill {oom_kill}\noom_group_kill 0\n"


@dataclass
class FakeCgroup2:
    """A cgroup2 mount at ``root``; ``swap``: the kernel accounts swap (``memory.swap.max`` exists)."""

    root: Path
    swap: bool = True

    def build(self, subtree_control: str = "cpu memory") -> FakeCgroup2:
        """The root group, with ``subtree_control`` enabled for its children."""
        self.root.mkdir(parents=True)
        self._write(self.root, {"cgroup.controllers": ROOT_CONTROLLERS, "cgroup.procs": "1\n"})
        self._write(self.root, {"cgroup.subtree_control": subtree_control, "cpu.stat": _cpu_stat(0)})
        return self

    def group(self, path: str, *, subtree_control: str = "", procs: Iterable[int] = ()) -> Path:
        """Make the group ``path`` (``/jupyter-conda``) as an admin would: mkdir, enable controllers
        for its children, move processes into it."""
        directory = self.root / path.lstrip("/")
        os.mkdir(directory)
        self._populate(directory)
        self._write(directory, {"cgroup.subtree_control": subtree_control})
        self._write(directory, {"cgroup.procs": "".join(f"{pid}\n" for pid in procs)})
        return directory

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """From now on, mkdir and rmdir of groups under the root behave as the kernel's."""
        real_mkdir, real_rmdir = os.mkdir, os.rmdir

        def mkdir(path, mode=0o777, **kwargs):
            real_mkdir(path, mode, **kwargs)
            if self._is_group(Path(path)):
                self._populate(Path(path))

        def rmdir(path, **kwargs):
            if self._is_group(Path(path)):
                self._empty(Path(path))
            real_rmdir(path, **kwargs)

        monkeypatch.setattr(os, "mkdir", mkdir)
        monkeypatch.setattr(os, "rmdir", rmdir)
        if sys.version_info < (3, 11):  # pathlib there calls the os functions it bound at import
            accessor = pathlib._NormalAccessor
            monkeypatch.setattr(accessor, "mkdir", staticmethod(mkdir))
            monkeypatch.setattr(accessor, "rmdir", staticmethod(rmdir))

    def _is_group(self, path: Path) -> bool:
        path = Path(os.path.abspath(path))
        return (
            path != self.root and self.root in path.parents and (path.parent / "cgroup.controllers").exists()
        )

    def _populate(self, directory: Path) -> None:
        """The interface files the kernel shows in a new group: those of the controllers its parent
        enables in ``cgroup.subtree_control``."""
        controllers = (directory.parent / "cgroup.subtree_control").read_text().split()
        files = {
            "cgroup.controllers": " ".join(controllers),
            "cgroup.subtree_control": "",
            "cgroup.procs": "",
            "cgroup.events": "populated 0\nfrozen 0\n",
            "cpu.stat": _cpu_stat(0),
        }
        if "cpu" in controllers:
            files |= {"cpu.max": "max 100000\n", "cpu.weight": "100\n"}
        if "memory" in controllers:
            files |= {"memory.max": "max\n", "memory.current": "0\n", "memory.peak": "0\n"}
            files |= {"memory.events": memory_events(), "memory.events.local": memory_events()}
            if self.swap:
                files |= {"memory.swap.max": "max\n", "memory.swap.current": "0\n"}
        self._write(directory, files)

    @staticmethod
    def _empty(directory: Path) -> None:
        """What rmdir asks of a group: no child group, no live process; then its files go with it."""
        if any(entry.is_dir() for entry in directory.iterdir()):
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), str(directory))
        if any(psutil.pid_exists(int(pid)) for pid in (directory / "cgroup.procs").read_text().split()):
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), str(directory))
        for entry in directory.iterdir():
            entry.unlink()

    @staticmethod
    def _write(directory: Path, files: dict[str, str]) -> None:
        for name, text in files.items():
            (directory / name).write_text(text)


def _cpu_stat(usage_usec: int) -> str:
    return f"usage_usec {usage_usec}\nuser_usec {usage_usec}\nsystem_usec 0\n"

"""flock(2) locks on files, as objects: a :class:`Lock` is held until it is released.

``flock`` locks come from the standard library's ``fcntl``: the kernel releases them when their
process dies, even by SIGKILL, which the environment cache's crash safety rests on, and they
come shared and exclusive, which its in-use protection rests on (``filelock``'s ``FileLock`` is
exclusive only). A lock file may be deleted by the holder of its exclusive lock; whoever locks a
file checks that it is still the one at that path, so two processes never believe they hold the
same lock through a deleted file.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType


class Lock:
    """A held flock on ``path``; :meth:`release` (or leaving ``with``) lets it go."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(
        cls, path: Path, *, shared: bool = False, wait: bool = True, create: bool = True
    ) -> Lock | None:
        """The lock of ``path``, shared or exclusive.

        None when ``path`` does not exist and ``create`` is false, or when ``wait`` is false and
        the lock is held elsewhere. A lock taken on a file deleted meanwhile is taken again.
        """
        operation = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if wait else fcntl.LOCK_NB)
        while True:
            try:
                fd = os.open(path, os.O_RDWR | (os.O_CREAT if create else 0), 0o600)
            except FileNotFoundError:
                return None
            try:
                fcntl.flock(fd, operation)
            except BlockingIOError:
                os.close(fd)
                return None
            lock = cls(fd, path)
            if lock.is_current():
                return lock
            lock.release()

    def share(self) -> bool:
        """Turn an exclusive lock into a shared one; False if the file was deleted meanwhile.

        Not atomic: another process may take the exclusive lock in between.
        """
        assert self._fd is not None
        fcntl.flock(self._fd, fcntl.LOCK_SH)
        return self.is_current()

    def is_current(self) -> bool:
        """Whether the locked file is still the one at ``path``."""
        assert self._fd is not None
        try:
            return os.fstat(self._fd).st_ino == os.stat(self.path).st_ino
        except FileNotFoundError:
            return False

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Lock:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

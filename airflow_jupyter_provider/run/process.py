"""A child process in its own session whose output is streamed line by line and whose
whole tree (papermill and the Jupyter kernel it starts in a session of its own) can be
stopped at once."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Iterable, Sequence

import psutil

from airflow_jupyter_provider.processes import KILL_GRACE_SECONDS, terminate


class StreamedProcess:
    """Start ``argv`` in a new session, with stdout and stderr merged into one stream.

    ``members`` names more processes of the run than its process tree holds: the pids in the
    run's cgroups, which include grandchildren that daemonized themselves out of the tree.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str],
        cwd: str,
        members: Callable[[], Iterable[int]] = tuple,
    ) -> None:
        self._members = members
        self._proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        #: True once :meth:`stop` ended the run before it finished by itself.
        self.stopped = False

    @property
    def pid(self) -> int:
        return self._proc.pid

    def stream(self, on_line: Callable[[str], None]) -> int:
        """Hand every output line to ``on_line`` as it comes; return the exit status.

        If anything interrupts the wait (a task timeout raised by a signal, say), the whole
        tree is stopped before the interruption propagates.
        """
        assert self._proc.stdout is not None
        try:
            for raw in iter(self._proc.stdout.readline, b""):
                on_line(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
            return self._proc.wait()
        finally:
            self.stop()
            self._proc.stdout.close()

    def stop(self, grace: float = KILL_GRACE_SECONDS) -> None:
        """Terminate every process of the run, then kill those still alive after ``grace`` s."""
        if self._proc.poll() is not None:
            return  # already ended and reaped: its pid may belong to another process by now
        self.stopped = True
        tree: dict[int, psutil.Process] = {}
        with contextlib.suppress(psutil.NoSuchProcess):  # ended between poll() and here
            root = psutil.Process(self._proc.pid)
            tree = {proc.pid: proc for proc in (root, *root.children(recursive=True))}
        for pid in set(self._members()) - tree.keys():
            with contextlib.suppress(psutil.NoSuchProcess):
                tree[pid] = psutil.Process(pid)
        # The session leader's group holds bash and papermill; the kernel runs in a session
        # of its own, so it is reached through the processes collected above.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGTERM)
        terminate(tree.values(), grace)
        try:
            self._proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

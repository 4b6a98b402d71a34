"""A child process in its own session whose output is streamed line by line and whose
whole tree (papermill and the Jupyter kernel it starts in a session of its own) can be
stopped at once."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Sequence

import psutil

#: Seconds between SIGTERM and SIGKILL when a run is stopped.
KILL_GRACE_SECONDS = 5.0


class StreamedProcess:
    """Start ``argv`` in a new session, with stdout and stderr merged into one stream."""

    def __init__(self, argv: Sequence[str], *, env: dict[str, str], cwd: str) -> None:
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
        """Terminate every process of the tree, then kill those still alive after ``grace`` s."""
        if self._proc.poll() is not None:
            return  # already ended and reaped: its pid may belong to another process by now
        self.stopped = True
        try:
            root = psutil.Process(self._proc.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:  # ended between poll() and here
            tree = []
        # The session leader's group holds bash and papermill; the kernel runs in a session
        # of its own, so it is reached through the tree collected above.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGTERM)
        for proc in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.terminate()
        _, alive = psutil.wait_procs(tree, timeout=grace)
        for proc in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        try:
            self._proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

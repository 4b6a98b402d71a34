"""The files a run leaves on the worker (the output notebook, its HTML) and the folders they go
in: written whole, with modes that let tenants share a worker.

A file is written beside its final name and renamed onto it, so whoever reads it (the Notebook
tab, a later task) never meets half of it. Under ``run_as_user`` (DolphinScheduler's tenant),
files are ``0640`` and the folders a run creates ``1773``: the owner and the folder's group
(the API server's user, see the README's "Tenants") may read them, other tenants may not, yet
every tenant may add its own notebooks to a run folder another tenant created (the sticky bit
keeps each one's files its own). A new folder keeps its parent's setgid bit (the kernel passes
it on), so its files keep the parent's group. Without a tenant, the process's umask decides, as
it would for papermill.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TENANT_FILE_MODE = 0o640
TENANT_FOLDER_MODE = 0o1773


@dataclass(frozen=True)
class OutputFiles:
    """How one run writes its files; ``tenant`` is the user the task runs as (``run_as_user``)."""

    tenant: str | None = None

    def make_folder(self, folder: Path) -> None:
        """Create ``folder`` and its missing parents; a folder another task creates at the same
        moment is left as that task made it."""
        missing = []
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for path in reversed(missing):
            with contextlib.suppress(FileExistsError):
                if self.tenant:
                    _mkdir(path, TENANT_FOLDER_MODE)
                else:
                    path.mkdir()

    def write(self, path: Path, text: str) -> None:
        """Write ``text`` to ``path`` whole: into a file beside it, renamed onto it."""
        self.make_folder(path.parent)
        fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
            os.chmod(partial, TENANT_FILE_MODE if self.tenant else 0o666 & ~_umask())
            os.replace(partial, path)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise


def _mkdir(path: Path, mode: int) -> None:
    """Create ``path`` with exactly ``mode``, the parent's setgid bit and group kept. A ``chmod``
    after the fact would not do: for a tenant outside the folder's group (the API server's, as
    the README sets it up) the kernel clears the setgid bit it passes on. So the umask is lifted
    for the ``mkdir`` itself."""
    umask = os.umask(0)
    try:
        os.mkdir(path, mode)
    finally:
        os.umask(umask)


@cache
def _umask() -> int:
    """This process's umask, read without changing it (``os.umask`` can only set it)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022

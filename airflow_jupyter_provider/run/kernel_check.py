"""The kernel check before papermill starts: the worker's half of it.

When the task sets no ``kernel``, papermill starts the kernel the notebook's kernelspec names,
which the activated environment may not have: JupyterLab with nb_conda_kernels names kernels
like ``conda-env-analysis-py``. Only the environment's own Python sees its kernels, so the check
is made there, by ``start_papermill.py`` just before it hands over to papermill. The worker, which
has read the input notebook already, gives it the kernel's name and language, and reads back why
no kernel could be chosen. A kernel the task sets is checked too: when the environment lacks it,
no other stands in, and the run fails without retry (a retry would find it missing again).
Names are taken as papermill takes them: ``python`` is the environment's own Python kernel
(``start_papermill.kernelspec_name``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The file in the run's working folder where start_papermill.py says why no kernel could be chosen.
REPORT = "kernel-problem.txt"


@dataclass(frozen=True)
class KernelCheck:
    """The kernel to check, its language, ``conda_env`` as the task gives it (for messages), and
    whether the task set the kernel (then it is that one or none)."""

    name: str
    language: str
    conda_env: str
    set_by_task: bool = False

    @classmethod
    def needed(cls, kernel: str | None, notebook: Any | None, conda_env: str) -> KernelCheck | None:
        """The check of the task's ``kernel``, else of the notebook's; none when the worker could
        not read the ``notebook`` or the notebook names no kernel (papermill says so itself)."""
        if kernel:
            return cls(kernel, "", conda_env, set_by_task=True)
        if notebook is None:
            return None
        metadata = notebook.metadata
        name = metadata.get("kernelspec", {}).get("name")
        if not name:
            return None
        # papermill's own order (papermill.utils.nb_language)
        language = metadata.get("language_info", {}).get("name") or metadata.get("kernelspec", {}).get(
            "language"
        )
        return cls(name, language or "", conda_env)

    def argv(self, workdir: Path) -> list[str]:
        """start_papermill.py's arguments before its ``--``."""
        whose = "task" if self.set_by_task else "notebook"
        return [self.name, self.language, self.conda_env, str(workdir / REPORT), whose]


def kernel_problem(workdir: Path) -> str | None:
    """Why no kernel could be chosen; None when the check chose one, or found the notebook's."""
    try:
        return (workdir / REPORT).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None

"""The task process keeps its environment and memory from the notebook it runs
(``run/isolation.py``): a process of the same user, as a notebook under ``run_as_user`` is,
tries to read them, as user ``nobody`` (root reads every process, so the test switches user)."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from airflow_jupyter_provider.run import isolation

#: Run as nobody: a "task process", shielded by the module's code (handed over as text: nobody
#: may not be able to read this checkout) or not, starts a child of the same user (the notebook)
#: that opens the parent's /proc files and reports.
TASK_PROCESS = textwrap.dedent(
    """
    import logging, os, subprocess, sys

    isolation = {}
    exec(compile(sys.argv[2], "isolation.py", "exec"), isolation)
    if sys.argv[1] == "shielded":
        isolation["shield_task_process"](logging.getLogger("task"))
    notebook = (
        "import os, sys\\n"
        "for name in ('environ', 'mem'):\\n"
        "    try:\\n"
        "        with open(f'/proc/{os.getppid()}/' + name, 'rb') as f:\\n"
        "            f.read(1) if name == 'environ' else None\\n"  # mem at offset 0 is unmapped
        "        print(name, 'opened')\\n"
        "    except OSError as err:\\n"
        "        print(name, type(err).__name__)\\n"
    )
    subprocess.run([sys.executable, "-c", notebook], check=True)
    """
)


#: A Python nobody may run wherever this checkout and its venv are (a pyenv build under /root may not).
SYSTEM_PYTHON = "/usr/bin/python3"


def as_nobody(mode: str) -> str:
    source = Path(isolation.__file__).read_text()
    as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    result = subprocess.run(
        [*as_nobody, SYSTEM_PYTHON, "-I", "-c", TASK_PROCESS, mode, source],
        capture_output=True,
        text=True,
        cwd="/",
        env={"PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.requires_root
def test_a_process_of_the_same_user_cannot_read_the_shielded_task_processs_environment_or_memory() -> None:
    assert as_nobody("shielded") == "environ PermissionError\nmem PermissionError\n"
    # Without the shield, the same child reads both: the test would see a broken shield.
    assert as_nobody("plain") == "environ opened\nmem opened\n"

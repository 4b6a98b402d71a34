"""A task's activation of a requirements layer, in a process of its own (as each task has one):
``python -m tests.environments.layer_user CONDA_ENV EXTRA_JSON REQUIREMENT...``.

It prints one JSON line: the layer, what ``jc_tiny`` says in it, and the log's messages.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from airflow_jupyter_provider.config import WorkerSettings
from airflow_jupyter_provider.environments import ResolveOptions, resolve_environment
from airflow_jupyter_provider.environments.requirements import normalized


class Messages(logging.Handler):
    """The messages of a log, to tell a build from a cache hit."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def recording_log(name: str) -> tuple[logging.Logger, Messages]:
    """A logger of its own (outside the logging hierarchy: it passes nothing on) and its messages."""
    log = logging.Logger(name, logging.INFO)
    log.addHandler(messages := Messages())
    return log, messages


def activate(conda_env: str, extra: dict, requirements: list[str]) -> dict:
    """Activate ``conda_env`` with ``requirements`` layered on it; what the layer holds."""
    log, messages = recording_log(f"layer-user-{os.getpid()}-{time.monotonic_ns()}")
    options = ResolveOptions(Path.cwd(), requirements=normalized(requirements, "requirements"))
    environment = resolve_environment(conda_env, options)
    with environment.activate(WorkerSettings.load(extra), log) as activation:
        value = subprocess.run(
            [f"{activation.layer}/bin/python", "-c", "import jc_tiny; print(jc_tiny.VALUE)"],
            capture_output=True,
            text=True,
        )
    return {"layer": activation.layer, "value": value.stdout.strip() or value.stderr, "log": messages.lines}


if __name__ == "__main__":
    print(json.dumps(activate(sys.argv[1], json.loads(sys.argv[2]), sys.argv[3:])))

"""``make airflow`` (``python -m devtools.stack``): a local Airflow a person starts and stops with Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from devtools.demo import example_dag_ids
from tests.e2e.helpers import DemoFolder
from tests.helpers import REPO, ProcessMarker

pytestmark = pytest.mark.e2e

START_TIMEOUT = 240


def wait_for_output(process: subprocess.Popen, output: Path, text: str, timeout: float) -> str:
    """The command's output once it shows ``text``."""
    deadline = time.monotonic() + timeout
    while text not in (printed := output.read_text()):
        assert process.poll() is None, f"exited with status {process.returncode}:\n{printed}"
        assert time.monotonic() < deadline, f"no {text!r} after {timeout} s:\n{printed}"
        time.sleep(0.5)
    return printed


def test_stack_command_serves_the_examples_until_ctrl_c(
    demo_folder: DemoFolder, process_marker: ProcessMarker, tmp_path: Path
) -> None:
    output = tmp_path / "output.txt"
    # The demo's folder is the session's: the command finds the environments built.
    env = {**os.environ, "JUPYTER_DEMO_DIR": str(demo_folder.path)}
    with output.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "devtools.stack"], cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        printed = wait_for_output(process, output, "Press Ctrl-C to stop.", START_TIMEOUT)
        url = re.search(r"^Airflow UI: (http://127\.0\.0\.1:\d+)$", printed, re.MULTILINE).group(1)
        username, password = re.search(r"^Login: (\S+) / (\S+)$", printed, re.MULTILINE).groups()

        page = httpx.get(f"{url}/", follow_redirects=True, timeout=30)
        assert page.status_code == 200
        assert "<title>Airflow</title>" in page.text
        login = httpx.post(f"{url}/auth/token", json={"username": username, "password": password}, timeout=30)
        assert login.status_code == 201, login.text
        dags = httpx.get(
            f"{url}/api/v2/dags",
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
            timeout=30,
        ).json()
        assert sorted(dag["dag_id"] for dag in dags["dags"]) == example_dag_ids()

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0, output.read_text()
        assert "Stopping Airflow" in output.read_text()
        assert process_marker.survivors() == {}
    finally:
        if process.poll() is None:  # the command stops its stack on SIGTERM too
            process.terminate()
            process.wait(timeout=60)
        for pid in process_marker.processes():  # whatever a failed stop left behind
            os.kill(pid, signal.SIGKILL)

"""The timeout alarm's email, as Airflow runs the tasks: ``airflow dags test`` with the
``smtp_default`` connection pointing at a real SMTP server (aiosmtpd) on loopback.

WARN and WARNFAILED mail the task's ``email`` once; FAILED mails nothing of its own (Airflow's
failure email covers it); a server that is down is logged and fails nothing.
"""

from __future__ import annotations

import email
import json
import os
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
from email.message import Message
from pathlib import Path
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller

from tests.helpers import CondaInstall, airflow_dags_test, write_notebook

pytestmark = pytest.mark.e2e

LOCALHOST = "127.0.0.1"
#: Where the task log links point ([api] base_url).
BASE_URL = "http://airflow.example.com:8080"

#: A notebook that runs until the file ``until`` holds ``word``, or two minutes have passed.
WAITS_FOR = (
    "import os, time\n"
    "deadline = time.monotonic() + 120\n"
    "while word not in (open(until).read() if os.path.exists(until) else ''):\n"
    "    assert time.monotonic() < deadline, f'{word!r} never came'\n"
    "    time.sleep(0.1)\n"
    "print('went on past the timeout')"
)

DAG_FILE = """
from airflow.sdk import DAG
from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

with DAG({dag_id!r}, schedule=None):
    JupyterCondaOperator(
        task_id="warn", input_nb={waits!r}, output_nb="out/warn.ipynb", conda_env={env!r},
        parameters={{"until": {until!r}, "word": "task warn,"}},
        timeout=0.05, timeout_strategy="WARN", email=["ops@example.com", "lead@example.com"],
    )
    JupyterCondaOperator(
        task_id="warnfailed", input_nb={waits!r}, output_nb="out/warnfailed.ipynb", conda_env={env!r},
        parameters={{"until": {until!r}, "word": "never written"}},
        timeout=0.05, timeout_strategy="WARNFAILED", email="oncall@example.com",
    )
    JupyterCondaOperator(
        task_id="failed", input_nb={waits!r}, output_nb="out/failed.ipynb", conda_env={env!r},
        parameters={{"until": {until!r}, "word": "never written"}},
        timeout=0.05, timeout_strategy="FAILED", email="owner@example.com",
    )
"""


class Inbox:
    """What an SMTP server received: (envelope recipients, message); each subject also goes to a file."""

    def __init__(self, subjects: Path) -> None:
        self.subjects = subjects
        self.mails: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's handler hook
        message = email.message_from_bytes(envelope.content)
        self.mails.append((list(envelope.rcpt_tos), message))
        with self.subjects.open("a") as subjects:
            subjects.write(message["Subject"] + "\n")
        return "250 OK"

    def to(self, recipients: list[str]) -> list[Message]:
        return [message for rcpt_tos, message in self.mails if rcpt_tos == recipients]


def smtp_connection(port: int) -> str:
    extra = {"disable_ssl": True, "disable_tls": True, "from_email": "airflow@example.com"}
    return json.dumps({"conn_type": "smtp", "host": LOCALHOST, "port": port, "extra": extra})


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind((LOCALHOST, 0))
        return probe.getsockname()[1]


def run_id_of(dag_id: str) -> str:
    with sqlite3.connect(Path(os.environ["AIRFLOW_HOME"]) / "airflow.db") as db:
        [(run_id,)] = db.execute("SELECT run_id FROM dag_run WHERE dag_id = ?", (dag_id,)).fetchall()
    return run_id


def body_of(message: Message) -> str:
    parts = message.walk() if message.is_multipart() else [message]
    return "".join(part.get_payload(decode=True).decode() for part in parts if not part.is_multipart())


@pytest.fixture(scope="module")
def airflow_db() -> None:
    """The metadata database of this test run's AIRFLOW_HOME, migrated."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True, timeout=300
    )


@pytest.fixture
def dag_folder(conda_connection: CondaInstall, tmp_path: Path) -> Path:
    dags = tmp_path / "dags"
    waits = write_notebook(dags / "waits.ipynb", "until = word = ''", WAITS_FOR)
    (dags / "timeout_email.py").write_text(
        textwrap.dedent(DAG_FILE).format(
            dag_id="timeout_email",
            waits=str(waits),
            env=conda_connection.env_name,
            until=str(tmp_path / "subjects"),
        )
    )
    return dags


def test_warn_and_warnfailed_mail_the_task_email_once_and_failed_mails_no_alarm(
    dag_folder: Path, airflow_db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = Inbox(tmp_path / "subjects")
    server = Controller(inbox, hostname=LOCALHOST, port=free_port())
    server.start()
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_connection(server.port))
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", BASE_URL)
    try:
        result, states = airflow_dags_test("timeout_email", dag_folder / "timeout_email.py")
    finally:
        server.stop()

    log = result.stdout + result.stderr
    # WARN: the notebook went on until its alarm mail had arrived, and the task succeeded.
    assert states == {"warn": "success", "warnfailed": "failed", "failed": "failed"}, log[-5000:]
    run_id = run_id_of("timeout_email")
    alarms = [rcpt_tos for rcpt_tos, m in inbox.mails if m["Subject"].startswith("Timeout alarm")]
    assert sorted(alarms) == [["oncall@example.com"], ["ops@example.com", "lead@example.com"]]
    [warn] = inbox.to(["ops@example.com", "lead@example.com"])
    assert (
        warn["Subject"]
        == f"Timeout alarm: DAG timeout_email, task warn, run {run_id}: past its timeout of 0:00:03"
    )
    assert "has run for 0:00:03, its timeout; the notebook goes on running." in body_of(warn)
    log_url = f"{BASE_URL}/dags/timeout_email/runs/{quote(run_id)}/tasks/warn?try_number=1"
    assert f'<a href="{log_url}">' in body_of(warn)
    # WARNFAILED: one alarm mail, beside Airflow's own failure email.
    oncall = [m["Subject"] for m in inbox.to(["oncall@example.com"])]
    assert [s for s in oncall if s.startswith("Timeout alarm")] == [
        f"Timeout alarm: DAG timeout_email, task warnfailed, run {run_id}: past its timeout of 0:00:03"
    ]
    # FAILED: no alarm mail (Airflow's failure email, where Airflow sends one, is its own).
    owner = [m["Subject"] for m in inbox.to(["owner@example.com"])]
    assert not [s for s in owner if s.startswith("Timeout alarm")], owner
    assert log.count("Timeout alarm emailed to ") == 2


def test_an_smtp_server_that_is_down_is_logged_and_fails_nothing(
    conda_connection: CondaInstall, airflow_db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notebook goes on until the task log says the mail could not be sent; the task succeeds."""
    dags = tmp_path / "dags"
    seen = tmp_path / "seen"
    waits = write_notebook(dags / "waits.ipynb", "until = word = ''", WAITS_FOR)
    dag_file = dags / "timeout_email_down.py"
    dag_file.write_text(
        textwrap.dedent(
            f"""
            from airflow.sdk import DAG
            from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

            with DAG("timeout_email_down", schedule=None):
                JupyterCondaOperator(
                    task_id="warn", input_nb={str(waits)!r}, output_nb="out/warn.ipynb",
                    conda_env={conda_connection.env_name!r},
                    parameters={{"until": {str(seen)!r}, "word": "logged"}},
                    timeout=0.05, timeout_strategy="WARN", email="ops@example.com",
                )
            """
        )
    )
    env = {
        **os.environ,
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW_CONN_SMTP_DEFAULT": smtp_connection(free_port()),
    }
    command = [sys.executable, "-m", "airflow", "dags", "test", "timeout_email_down", "-f", str(dag_file)]
    airflow = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []

    def follow() -> None:
        """Read the task log as it comes; tell the notebook once the failed mail is logged."""
        for line in airflow.stdout:
            lines.append(line)
            if "The timeout alarm email to ops@example.com could not be sent; the task goes on" in line:
                seen.write_text("logged")

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    try:
        airflow.wait(timeout=300)
    finally:
        airflow.kill()
    reader.join(timeout=30)

    log = "".join(lines)
    assert airflow.returncode == 0, log[-5000:]
    assert "Timeout alarm: the task has run for 0:00:03, its timeout; the notebook goes on running" in log
    assert "ConnectionRefusedError" in log
    assert "went on past the timeout" in log
    assert "Timeout alarm emailed" not in log

"""A notebook gets only what its task gives it, and the secrets it is given stay masked: one DAG
run by ``airflow dags test`` on a worker whose environment holds Airflow's configuration, a
connection and Variables, as a worker's does.

The notebook prints the names of its environment variables and the values its task handed it.
What the task log, the output notebook, the partial notebook of a failed run and the HTML show
is read as a user reads it. (The same through a real scheduler, the REST API, object storage and
``run_as_user`` is in ``tests/e2e``.)
"""

from __future__ import annotations

import json
import textwrap
import uuid
from pathlib import Path

import nbformat
import pytest

from tests.helpers import CondaInstall, airflow_dags_test, write_notebook

pytestmark = pytest.mark.e2e

#: A cell that prints its environment's names on one line, then each value the task handed it.
PRINT_ENVIRONMENT = (
    "import json, os\n"
    "print('NAMES', json.dumps(sorted(os.environ)))\n"
    "for name in ('WAREHOUSE_URL', 'WAREHOUSE_PASSWORD', 'API_TOKEN', 'SERVICE_SECRET', 'PLAIN'):\n"
    "    print(name, '=', os.environ.get(name))"
)


def printed_names(text: str) -> list[str]:
    line = next(line for line in text.splitlines() if "NAMES [" in line)
    return json.loads(line[line.index("[") :].replace('\\"', '"').rstrip('",'))


def test_the_notebook_gets_no_worker_secret_and_the_secrets_it_is_given_are_masked(
    conda_connection: CondaInstall, airflow_db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = uuid.uuid4().hex
    password, variable, literal = f"pw-{token[:12]}", f"tok-{token[12:24]}", f"lit-{token[24:]}"
    monkeypatch.setenv(
        "AIRFLOW_CONN_WAREHOUSE",
        json.dumps(
            {"conn_type": "postgres", "host": "db.internal", "login": "analyst", "password": password}
        ),
    )
    monkeypatch.setenv("AIRFLOW_VAR_API_TOKEN", variable)
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", "fernet-key-of-the-worker")
    monkeypatch.setenv("_AIRFLOW_INTERNAL_NOTE", "internal")
    dags = tmp_path / "dags"
    write_notebook(dags / "prints.ipynb", "x = 0", PRINT_ENVIRONMENT)
    write_notebook(dags / "fails.ipynb", "x = 0", PRINT_ENVIRONMENT, "raise RuntimeError('after printing')")
    env = {
        "WAREHOUSE_URL": "{{ conn.warehouse.get_uri() }}",
        "WAREHOUSE_PASSWORD": "{{ conn.warehouse.password }}",
        "API_TOKEN": "{{ var.value.api_token }}",
        "SERVICE_SECRET": literal,  # sensitive by its name alone
        "PLAIN": "plain-visible-value",
    }
    dag_file = dags / "jupyter_conda_secrets.py"
    dag_file.write_text(
        textwrap.dedent(
            f"""
            from airflow.sdk import DAG
            from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

            with DAG("jupyter_conda_secrets", schedule=None):
                for task_id in ("prints", "fails"):
                    JupyterCondaOperator(
                        task_id=task_id, input_nb=f"{{task_id}}.ipynb", output_nb=f"out/{{task_id}}.ipynb",
                        output_html=True, conda_env={conda_connection.env_name!r}, env={env!r},
                    )
            """
        )
    )

    result, states = airflow_dags_test("jupyter_conda_secrets", dag_file)

    log = result.stdout + result.stderr
    assert states == {"prints": "success", "fails": "failed"}, log[-5000:]
    secrets = (password, variable, literal)
    shown = {
        "the task log": log,
        **{f"{name}.ipynb": (dags / "out" / f"{name}.ipynb").read_text() for name in ("prints", "fails")},
        **{f"{name}.html": (dags / "out" / f"{name}.html").read_text() for name in ("prints", "fails")},
    }
    for where, text in shown.items():
        assert not [secret for secret in secrets if secret in text], where
        assert "plain-visible-value" in text, where
    assert "WAREHOUSE_PASSWORD = ***" in log
    assert "API_TOKEN = ***" in log
    assert "SERVICE_SECRET = ***" in log
    assert "WAREHOUSE_URL = postgres://analyst:***@db.internal" in log
    printed = nbformat.read(dags / "out" / "prints.ipynb", as_version=4).cells[1].outputs[0].text
    assert "API_TOKEN = ***\n" in printed
    names = printed_names(printed)
    assert {"WAREHOUSE_URL", "WAREHOUSE_PASSWORD", "API_TOKEN", "SERVICE_SECRET", "PLAIN"} <= set(names)
    assert {"AIRFLOW_CTX_DAG_ID", "AIRFLOW_CTX_TASK_ID", "PATH", "HOME"} <= set(names)
    left_out = [n for n in names if n.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_", "_AIRFLOW_"))]
    assert left_out == []

"""The output notebook as the UI's Notebook tab reads it: stamped with its task instance, and,
with ``notebook_conn_id``, in object storage as papermill saves it (moto's S3 server on loopback,
through an Airflow ``aws`` connection, as a user would define it).

Every run is real: papermill, the Jupyter kernel, bash and the ``conda.sh`` double.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from structlog.testing import capture_logs

from airflow_jupyter_provider.compat import AirflowException, AirflowFailException
from airflow_jupyter_provider.hooks.jupyter_conda import JupyterCondaHook
from airflow_jupyter_provider.notebook_stamp import stamped_identity, task_instance_identity
from airflow_jupyter_provider.run.run_result import RunResult
from tests.environments.helpers import S3Server
from tests.helpers import (
    WAIT_FOR_GO,
    CondaInstall,
    HookRun,
    injected_parameters,
    messages,
    run_notebook,
    wait_for,
    write_notebook,
)

IDENTITY = task_instance_identity("stamped_dag", "manual__2026-01-02", "report", -1)


def outputs(notebook: Any) -> str:
    """Every text a notebook's cells showed, joined."""
    texts = []
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            texts.append(output.get("text", "") + output.get("evalue", ""))
    return "".join(texts)


def stored(s3: S3Server, key: str) -> Any | None:
    """The notebook at ``key`` in the bucket, or None while there is none."""
    try:
        body = s3.client.get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    except s3.client.exceptions.NoSuchKey:
        return None
    return nbformat.reads(body.decode(), as_version=4)


# --- the stamp -------------------------------------------------------------------------------


def test_output_notebook_carries_the_stamp_also_when_a_cell_failed(
    conda_connection: CondaInstall, tmp_path: Path
) -> None:
    notebook = write_notebook(tmp_path / "nb.ipynb", "x = 1", "print('before')", "raise ValueError('broken')")
    original = notebook.read_bytes()
    output = tmp_path / "out" / "nb.ipynb"

    with (
        capture_logs() as logs,
        pytest.raises(AirflowException, match=r"cell \[3\] raised ValueError: broken"),
    ):
        run_notebook(
            JupyterCondaHook(),
            input_nb=str(notebook),
            output_nb=str(output),
            conda_env=conda_connection.env_name,
            task_instance=IDENTITY,
        )

    executed = nbformat.read(output, as_version=4)
    assert stamped_identity(executed) == IDENTITY
    assert "before" in outputs(executed) and "broken" in outputs(executed)
    # What the user sees of papermill's metadata is the notebook they gave, not the worker's copy.
    assert executed.metadata.papermill.input_path == str(notebook)
    assert notebook.read_bytes() == original  # the stamp went into a copy
    assert f"Input Notebook:  {notebook}" in messages(logs)


def test_parameters_relative_paths_and_injected_paths_work_as_without_the_stamp(
    conda_connection: CondaInstall, tmp_path: Path
) -> None:
    notebooks = tmp_path / "notebooks"
    (notebooks / "data").mkdir(parents=True)
    (notebooks / "data" / "rows.txt").write_text("3 rows\n")
    notebook = write_notebook(
        notebooks / "nb.ipynb", "count = 0", "print(open('data/rows.txt').read(), count)"
    )
    output = tmp_path / "out" / "nb.ipynb"

    run_notebook(
        JupyterCondaHook(),
        input_nb=str(notebook),
        output_nb=str(output),
        conda_env=conda_connection.env_name,
        parameters={"count": 7},
        others="--inject-paths",
        task_instance=IDENTITY,
    )

    executed = nbformat.read(output, as_version=4)
    assert "3 rows\n 7" in outputs(executed)
    assert injected_parameters(output) == {
        "count": 7,
        "PAPERMILL_INPUT_PATH": str(notebook),
        "PAPERMILL_OUTPUT_PATH": str(output),
    }
    assert stamped_identity(executed) == IDENTITY


def test_run_without_a_task_instance_stamps_nothing(conda_connection: CondaInstall, tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "nb.ipynb", "x = 1", "print(x)")
    output = tmp_path / "out.ipynb"

    run_notebook(
        JupyterCondaHook(), input_nb=str(notebook), output_nb=str(output), conda_env=conda_connection.env_name
    )

    assert stamped_identity(nbformat.read(output, as_version=4)) is None


# --- notebooks in object storage ---------------------------------------------------------------


def test_output_in_s3_appears_while_the_notebook_runs_and_ends_as_the_stamped_final_notebook(
    conda_connection: CondaInstall, s3_server: S3Server, s3_connection: str, tmp_path: Path
) -> None:
    notebook = write_notebook(
        tmp_path / "nb.ipynb", "go = ''", "print('first cell done')", WAIT_FOR_GO, "print('last cell done')"
    )
    go = tmp_path / "go"
    run = HookRun(
        JupyterCondaHook(),
        input_nb=str(notebook),
        output_nb=f"s3://{s3_server.bucket}/live/nb.ipynb",
        notebook_conn_id=s3_connection,
        conda_env=conda_connection.env_name,
        parameters={"go": str(go)},
        task_instance=IDENTITY,
    )
    run.start()
    try:
        assert wait_for(lambda: "first cell done" in outputs(stored(s3_server, "live/nb.ipynb") or {}), 120)
        partial = stored(s3_server, "live/nb.ipynb")
        assert "last cell done" not in outputs(partial)
        assert stamped_identity(partial) == IDENTITY
    finally:
        go.touch()
        run.join(120)

    assert run.error is None and run.result == f"s3://{s3_server.bucket}/live/nb.ipynb"
    final = stored(s3_server, "live/nb.ipynb")
    assert "last cell done" in outputs(final)
    assert stamped_identity(final) == IDENTITY
    assert final.metadata.papermill.input_path == str(notebook)


def test_failed_notebook_leaves_its_partial_output_in_s3(
    conda_connection: CondaInstall, s3_server: S3Server, s3_connection: str, tmp_path: Path
) -> None:
    notebook = write_notebook(tmp_path / "nb.ipynb", "x = 1", "print('got here')", "raise KeyError('gone')")
    url = f"s3://{s3_server.bucket}/failed/nb.ipynb"

    with pytest.raises(AirflowException) as caught:
        run_notebook(
            JupyterCondaHook(),
            input_nb=str(notebook),
            output_nb=url,
            notebook_conn_id=s3_connection,
            conda_env=conda_connection.env_name,
            task_instance=IDENTITY,
        )

    assert str(caught.value).endswith(f"The output notebook is kept at {url}")
    assert RunResult.attached_to(caught.value).output_nb == url
    partial = stored(s3_server, "failed/nb.ipynb")
    assert "got here" in outputs(partial) and "gone" in outputs(partial)
    assert stamped_identity(partial) == IDENTITY


def test_input_notebook_is_read_from_s3_through_the_connection(
    conda_connection: CondaInstall, s3_server: S3Server, s3_connection: str, tmp_path: Path
) -> None:
    notebook = write_notebook(tmp_path / "nb.ipynb", "region = ''", "print('region', region)")
    url = s3_server.put("inputs/nb.ipynb", notebook.read_bytes())
    output = tmp_path / "out.ipynb"

    with capture_logs() as logs:
        run_notebook(
            JupyterCondaHook(),
            input_nb=url,
            output_nb=str(output),
            notebook_conn_id=s3_connection,
            conda_env=conda_connection.env_name,
            parameters={"region": "north"},
        )

    executed = nbformat.read(output, as_version=4)
    assert "region north" in outputs(executed)
    assert executed.metadata.papermill.input_path == url
    assert "cell 3/3: print('region', region)" in messages(logs)


def test_missing_input_in_s3_is_named(
    conda_connection: CondaInstall, s3_server: S3Server, s3_connection: str, tmp_path: Path
) -> None:
    url = f"s3://{s3_server.bucket}/inputs/none.ipynb"

    with pytest.raises(AirflowException) as caught:
        run_notebook(
            JupyterCondaHook(),
            input_nb=url,
            output_nb=str(tmp_path / "out.ipynb"),
            notebook_conn_id=s3_connection,
            conda_env=conda_connection.env_name,
        )

    assert str(caught.value) == f"input_nb: no notebook at '{url}'"
    assert not isinstance(caught.value, AirflowFailException)  # it may appear: retried


def test_unknown_notebook_connection_is_named(conda_connection: CondaInstall, tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "nb.ipynb", "x = 1")

    with pytest.raises(AirflowFailException) as caught:
        run_notebook(
            JupyterCondaHook(),
            input_nb=str(notebook),
            output_nb="s3://bucket/out.ipynb",
            notebook_conn_id="no_such_store",
            conda_env=conda_connection.env_name,
        )

    assert str(caught.value) == "notebook_conn_id: no connection 'no_such_store'"

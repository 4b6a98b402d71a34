"""JupyterCondaOperator runs, as Airflow runs them: templates rendered from a real context,
then ``execute``; and one DAG run by ``airflow dags test``.

Every run is real: papermill, the Jupyter kernel, bash and the ``conda.sh`` double.
"""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import nbformat
import pytest
from structlog.testing import capture_logs

from airflow_jupyter_provider.compat import AirflowFailException, AirflowSkipException
from airflow_jupyter_provider.notebook_stamp import stamped_identity
from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator
from airflow_jupyter_provider.plugins import NOTEBOOK_XCOM_KEY
from devtools.conda_layout import conda_root
from devtools.notebooks import tagged
from tests.helpers import (
    RUN_ID,
    TYPED_DEFAULTS,
    TYPED_PARAMETERS,
    WAIT_FOR_GO,
    CondaInstall,
    ProcessMarker,
    airflow_dags_test,
    dag_in,
    injected_parameters,
    run_task,
    wait_for,
    write_notebook,
)

#: Shell syntax of every kind, a newline and non-ASCII text; no '/', so it also fits a file
#: name and a conda environment name. Were any of it run by a shell, "$CANARY" would exist.
NASTY = (
    'sp ace \'single\' "double" $(touch "$CANARY") `touch "$CANARY"` ; touch "$CANARY" '
    '&& touch "$CANARY"\nnew line ü 日本 ✓'
)

#: A cell printing, on one JSON line, where and how the kernel runs.
KERNEL_REPORT = (
    "import json, os, sys\n"
    "print('REPORT', json.dumps({'conda_prefix': os.environ.get('CONDA_PREFIX'),\n"
    "    'conda_default_env': os.environ.get('CONDA_DEFAULT_ENV'), 'cwd': os.getcwd()}))"
)


# --- helpers -------------------------------------------------------------------------------


def kernel_report(output_nb: Path) -> dict[str, Any]:
    notebook = nbformat.read(output_nb, as_version=4)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                if line.startswith("REPORT "):
                    return json.loads(line.removeprefix("REPORT "))
    raise AssertionError(f"no REPORT line in {output_nb}")


def typed_json(value: Any) -> str:
    """JSON text, which tells True from 1 and 42 from 42.0 where == does not."""
    return json.dumps(value, sort_keys=True)


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def canary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file that only a shell running a piece of NASTY would create (through $CANARY)."""
    path = tmp_path / "CANARY"
    monkeypatch.setenv("CANARY", str(path))
    return path


@pytest.fixture(scope="module")
def nasty_conda(conda_install: CondaInstall, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(conda.sh, name): an installation that knows the test environment by a NASTY name."""
    root = tmp_path_factory.mktemp("conda-nasty")
    conda_sh = conda_root(root)
    name = f"env {NASTY}"
    (root / "envs" / name).symlink_to(conda_install.prefix, target_is_directory=True)
    return conda_sh, name


# --- bad input reaches papermill verbatim and runs nothing ------------------------------------


def test_nasty_names_and_values_reach_papermill_verbatim_through_a_named_env(
    nasty_conda: tuple[Path, str], canary: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conda_sh, env_name = nasty_conda
    conn = {"conn_type": "jupyter_conda", "extra": {"conda_path": str(conda_sh)}}
    monkeypatch.setenv("AIRFLOW_CONN_JUPYTER_CONDA_DEFAULT", json.dumps(conn))
    dag_folder = tmp_path / f"dags {NASTY}"
    notebook = write_notebook(
        dag_folder / f"in {NASTY}.ipynb", "text = ''\nitems = []\nmapping = {}", KERNEL_REPORT
    )
    output = dag_folder / f"out {NASTY}" / f"result {NASTY}.ipynb"
    expected = {"text": NASTY, "items": [NASTY, 1, f"{NASTY}!"], "mapping": {NASTY: [NASTY]}}
    with dag_in(dag_folder, "nasty_named", params={"nasty": NASTY, "env": env_name}):
        # Values typed in the DAG file and values coming from params through templates.
        op = JupyterCondaOperator(
            task_id="nasty",
            input_nb=str(notebook),
            output_nb=f"out {NASTY}/result {{{{ params.nasty }}}}.ipynb",
            conda_env="{{ params.env }}",
            parameters={
                "text": "{{ params.nasty }}",
                "items": [NASTY, 1, "{{ params.nasty }}!"],
                "mapping": {NASTY: [NASTY]},
            },
        )

    result = run_task(op)

    assert result == str(output)
    assert output.is_file()
    injected = injected_parameters(output)
    assert typed_json(injected) == typed_json(expected)
    report = kernel_report(output)
    # conda activated exactly the environment of that name, and the kernel runs in the notebook's folder.
    assert report["conda_default_env"] == env_name
    assert report["conda_prefix"] == str(conda_sh.parent.parent.parent / "envs" / env_name)
    assert report["cwd"] == str(dag_folder)
    assert not canary.exists()


def test_nasty_prefix_path_and_others_reach_papermill_verbatim(
    conda_connection: CondaInstall, canary: Path, tmp_path: Path
) -> None:
    prefix_link = tmp_path / f"prefix {NASTY}" / f"env {NASTY}"
    prefix_link.parent.mkdir()
    prefix_link.symlink_to(conda_connection.prefix, target_is_directory=True)
    kernel_cwd = tmp_path / f"cwd {NASTY}"
    kernel_cwd.mkdir()
    notebook = write_notebook(tmp_path / "notebooks" / f"{NASTY}.ipynb", "text = ''", KERNEL_REPORT)
    output = tmp_path / f"{NASTY}.out" / f"{NASTY}.ipynb"
    with dag_in(tmp_path, "nasty_prefix"):
        op = JupyterCondaOperator(
            task_id="nasty",
            input_nb=str(notebook),
            output_nb=str(output),
            conda_env=str(prefix_link),
            parameters=json.dumps({"text": NASTY}),
            # Split as a shell splits words, never given to a shell.
            others=f"--cwd {shlex.quote(str(kernel_cwd))}",
            output_html=False,
        )

    result = run_task(op)

    assert result == str(output)
    assert injected_parameters(output) == {"text": NASTY}
    report = kernel_report(output)
    assert report["conda_prefix"] == str(prefix_link)
    assert report["cwd"] == str(kernel_cwd)
    assert not canary.exists()
    assert list(output.parent.iterdir()) == [output]  # output_html=False: no HTML


def test_parameter_name_that_is_not_an_identifier_is_refused(
    conda_connection: CondaInstall, canary: Path, tmp_path: Path
) -> None:
    notebook = write_notebook(tmp_path / "nb.ipynb", "x = 0")
    output = tmp_path / "out.ipynb"
    name = f"x = 1; import pathlib; pathlib.Path({str(canary)!r}).touch(); y"

    # Written in the DAG file: refused when the DAG is parsed.
    with pytest.raises(ValueError, match="is not a valid variable name"), dag_in(tmp_path, "static_name"):
        JupyterCondaOperator(
            task_id="nb",
            input_nb=str(notebook),
            output_nb=str(output),
            conda_env="jupyter-test",
            parameters={name: 1},
        )

    # Coming from a template (a DAG param with a name a notebook cannot have): refused at run time.
    with dag_in(tmp_path, "templated_name", params={"ok": 1, name: 2}):
        op = JupyterCondaOperator(
            task_id="nb",
            input_nb=str(notebook),
            output_nb=str(output),
            conda_env=conda_connection.env_name,
            parameters="{{ params | tojson }}",
        )
    with pytest.raises(AirflowFailException) as caught:
        run_task(op)

    assert f"parameters: name {name!r} is not a valid variable name" in str(caught.value)
    assert not output.exists()
    assert not canary.exists()


# --- templated fields ------------------------------------------------------------------------


def test_templated_fields_render_typed_params_and_paths_resolve_from_the_dag_folder(
    conda_connection: CondaInstall, tmp_path: Path
) -> None:
    dag_folder = tmp_path / "dags"
    write_notebook(dag_folder / "notebooks" / "report.ipynb", TYPED_DEFAULTS, KERNEL_REPORT)
    (dag_folder / "envs").mkdir()
    (dag_folder / "envs" / "jt").symlink_to(conda_connection.prefix, target_is_directory=True)
    macros = {
        "notebook": "report",
        "env_folder": "envs/jt",
        "kernel_name": "python3",
        "options": "--inject-paths",
    }
    with dag_in(dag_folder, "typed", params=TYPED_PARAMETERS, user_defined_macros=macros):
        op = JupyterCondaOperator(
            task_id="typed",
            input_nb="notebooks/{{ notebook }}.ipynb",
            output_nb="out/{{ run_id }}/deep/{{ notebook }}.ipynb",
            conda_env="{{ env_folder }}",
            parameters="{{ params | tojson }}",
            kernel="{{ kernel_name }}",
            others="{{ options }}",
        )
    # What the UI's trigger form sends: some params changed, with their types.
    conf = {"an_int": 7, "a_list": [0.5, True], "a_str": "from the trigger form"}

    result = run_task(op, conf)

    output = dag_folder / "out" / RUN_ID / "deep" / "report.ipynb"
    assert result == str(output)
    injected = injected_parameters(output)
    # --inject-paths came through `others`: papermill was given the resolved locations.
    assert injected.pop("PAPERMILL_INPUT_PATH") == str(dag_folder / "notebooks" / "report.ipynb")
    assert injected.pop("PAPERMILL_OUTPUT_PATH") == str(output)
    assert typed_json(injected) == typed_json({**TYPED_PARAMETERS, **conf})
    report = kernel_report(output)
    assert report["conda_prefix"] == str(dag_folder / "envs" / "jt")
    assert report["cwd"] == str(dag_folder / "notebooks")
    # output_html's default: no HTML.
    assert sorted(p.name for p in output.parent.iterdir()) == ["report.ipynb"]


def test_template_that_renders_invalid_json_fails_naming_parameters(
    conda_connection: CondaInstall, tmp_path: Path
) -> None:
    notebook = write_notebook(tmp_path / "nb.ipynb", "count = 0")
    output = tmp_path / "out.ipynb"
    with dag_in(tmp_path, "bad_json", params={"count": 3}):
        # Not JSON, but a template: accepted when the DAG is parsed, judged once rendered.
        op = JupyterCondaOperator(
            task_id="nb",
            input_nb=str(notebook),
            output_nb=str(output),
            conda_env=conda_connection.env_name,
            parameters="{{ params.count }} apples",
        )

    with pytest.raises(AirflowFailException) as caught:
        run_task(op)

    assert "parameters: invalid JSON text '3 apples'" in str(caught.value)
    assert not output.exists()


def test_forbidden_run_flag_skips_the_task_without_running_the_notebook(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "nb.ipynb", "x = 0")
    output = tmp_path / "out.ipynb"
    with dag_in(tmp_path, "forbidden"):
        # The environment does not exist either: nothing is even looked at.
        op = JupyterCondaOperator(
            task_id="nb",
            input_nb=str(notebook),
            output_nb=str(output),
            conda_env="no-such-env",
            run_flag="FORBIDDEN",
        )

    with capture_logs() as logs, pytest.raises(AirflowSkipException):
        run_task(op)

    assert not output.exists()
    lines = [str(entry.get("event")) for entry in logs]
    assert f"run_flag is FORBIDDEN: {notebook} is not run and the task is skipped" in lines


# --- a real Airflow run ----------------------------------------------------------------------


@pytest.mark.e2e
def test_airflow_dags_test_times_out_the_notebook_and_leaves_no_process(
    conda_connection: CondaInstall, process_marker: ProcessMarker, airflow_db: None, tmp_path: Path
) -> None:
    """``airflow dags test`` of a DAG with three tasks: one that outlives its timeout, one with
    typed params from the trigger conf, one with run_flag FORBIDDEN."""
    dags = tmp_path / "dags"
    pids = tmp_path / "kernel-pids"
    slow = write_notebook(
        dags / "slow.ipynb",
        "pids = ''",
        "print('before the sleep')",
        "import os, pathlib, time\n"
        "pathlib.Path(pids).write_text(f'{os.getpid()} {os.getppid()}')\n"
        "print('sleeping', flush=True)\n"
        "time.sleep(120)",
    )
    typed = write_notebook(dags / "typed.ipynb", TYPED_DEFAULTS, KERNEL_REPORT)
    dag_file = dags / "jupyter_conda_e2e.py"
    dag_file.write_text(
        textwrap.dedent(
            f"""
            from airflow.sdk import DAG
            from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

            with DAG("jupyter_conda_e2e", schedule=None, params={TYPED_PARAMETERS!r}):
                JupyterCondaOperator(
                    task_id="slow", input_nb={str(slow)!r}, output_nb="out/slow.ipynb",
                    conda_env={conda_connection.env_name!r}, parameters={{"pids": {str(pids)!r}}},
                    timeout=0.2, timeout_strategy="FAILED",  # minutes: execution_timeout of 12 s
                )
                JupyterCondaOperator(
                    task_id="typed", input_nb={str(typed)!r}, output_nb="out/typed.ipynb",
                    conda_env={conda_connection.env_name!r}, parameters="{{{{ params | tojson }}}}",
                )
                JupyterCondaOperator(
                    task_id="off", input_nb={str(typed)!r}, output_nb="out/off.ipynb",
                    conda_env={conda_connection.env_name!r}, run_flag="FORBIDDEN",
                )
            """
        )
    )
    conf = {"an_int": 7, "a_dict": {"from": "conf"}}

    result, states = airflow_dags_test("jupyter_conda_e2e", dag_file, conf)

    log = result.stdout + result.stderr
    assert states == {"slow": "failed", "typed": "success", "off": "skipped"}, log[-5000:]
    assert result.returncode != 0  # the DAG run failed
    # The slow notebook's kernel had started before the deadline ...
    kernel_pid, papermill_pid = map(int, pids.read_text().split())
    assert "AirflowTaskTimeout" in log
    # ... and nothing of the run outlives it: not papermill, not the kernel.
    assert process_marker.survivors() == {}
    for pid in (kernel_pid, papermill_pid):
        assert not Path(f"/proc/{pid}/cmdline").exists() or not Path(f"/proc/{pid}/cmdline").read_bytes()
    # The partial notebook is kept.
    slow_cells = nbformat.read(dags / "out" / "slow.ipynb", as_version=4).cells
    assert [output.get("text") for output in slow_cells[2].outputs] == ["before the sleep\n"]
    # Typed values from params and the trigger conf; the relative output path from the DAG folder.
    injected = injected_parameters(dags / "out" / "typed.ipynb")
    assert typed_json(injected) == typed_json({**TYPED_PARAMETERS, **conf})
    assert "run_flag is FORBIDDEN" in log
    assert not (dags / "out" / "off.ipynb").exists()


@pytest.mark.e2e
def test_airflow_dags_test_renders_html_of_a_failed_run_and_hands_results_to_a_later_task(
    conda_connection: CondaInstall, airflow_db: None, tmp_path: Path
) -> None:
    """``airflow dags test`` of a failing notebook, a notebook that records results, and a
    later task (run whatever they did) that reads what both pushed to XCom."""
    dags = tmp_path / "dags"
    failing = write_notebook(
        dags / "failing.ipynb",
        "threshold = 0",
        "print('checking', threshold)",
        "raise ValueError(f'threshold {threshold} is too high')",
    )
    recording = write_notebook(
        dags / "recording.ipynb",
        "rows = 0",
        tagged(
            "from IPython.display import JSON, display\n"
            "display(JSON({'rows': rows, 'share': rows / 8, 'regions': ['north', 'south'], 'ok': True,"
            " 'nothing': None}))",
            "results",
        ),
        # What scrapbook's sb.glue('glued', {...}) shows, without scrapbook in the environment.
        "display({'application/scrapbook.scrap.json+json': {'name': 'glued', 'data': {'nested': [1, 2.5]},"
        " 'encoder': 'json', 'version': 1}}, raw=True)",
    )
    seen_file = tmp_path / "seen.json"
    dag_file = dags / "jupyter_conda_watch.py"
    dag_file.write_text(
        textwrap.dedent(
            f"""
            import json, pathlib
            from airflow.sdk import DAG, task
            from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

            with DAG("jupyter_conda_watch", schedule=None):
                failing = JupyterCondaOperator(
                    task_id="failing", input_nb={str(failing)!r}, output_nb="out/failing.ipynb",
                    output_html=True, conda_env={conda_connection.env_name!r}, parameters={{"threshold": 42}},
                )
                recording = JupyterCondaOperator(
                    task_id="recording", input_nb={str(recording)!r}, output_nb="out/recording.ipynb",
                    output_html="html/{{{{ task.task_id }}}}.html",
                    conda_env={conda_connection.env_name!r}, parameters={{"rows": 12}},
                )

                @task(trigger_rule="all_done")
                def later(results, ti=None):
                    seen = {{
                        "results": results,
                        "types": {{name: type(value).__name__ for name, value in results.items()}},
                        "output_html": {{
                            t: ti.xcom_pull(task_ids=t, key="output_html") for t in ("failing", "recording")
                        }},
                        "return_value": ti.xcom_pull(task_ids="recording"),
                    }}
                    pathlib.Path({str(seen_file)!r}).write_text(json.dumps(seen))

                failing >> later(recording.output["results"])
            """
        )
    )

    result, states = airflow_dags_test("jupyter_conda_watch", dag_file)

    log = result.stdout + result.stderr
    assert states == {"failing": "failed", "recording": "success", "later": "success"}, log[-5000:]
    # The task log follows the cells and shows the failure; the kernel's chatter is not in it.
    for line in (
        "cell 2/4: (injected parameters)",
        "cell 3/4: print('checking', threshold)",
        "checking 42",
        "cell 4/4: raise ValueError(f'threshold {threshold} is too high')",
        "cell 4/4 failed: ValueError: threshold 42 is too high",
        "    ----> 1 raise ValueError(f'threshold {threshold} is too high')",
    ):
        assert line in log, line
    assert "Kernel is running over TCP without encryption" not in log
    assert "\x1b[" not in log
    seen = json.loads(seen_file.read_text())
    # The failed run's HTML is beside its output notebook, with the error in it; pushed anyway.
    failing_html = dags / "out" / "failing.html"
    assert seen["output_html"] == {
        "failing": str(failing_html),
        "recording": str(dags / "html" / "recording.html"),
    }
    assert "ValueError</span>: threshold 42 is too high" in failing_html.read_text(encoding="utf-8")
    # Results with their JSON types, from the results cell and the scrap.
    assert seen["results"] == {
        "rows": 12,
        "share": 1.5,
        "regions": ["north", "south"],
        "ok": True,
        "nothing": None,
        "glued": {"nested": [1, 2.5]},
    }
    assert seen["types"] == {
        "rows": "int",
        "share": "float",
        "regions": "list",
        "ok": "bool",
        "nothing": "NoneType",
        "glued": "dict",
    }
    assert seen["return_value"] == str(dags / "out" / "recording.ipynb")


def recorded_notebook(dag_id: str) -> tuple[str, dict[str, Any]] | None:
    """The run id and the ``notebook`` XCom record of ``dag_id``'s task, once there is one."""
    with sqlite3.connect(Path(os.environ["AIRFLOW_HOME"]) / "airflow.db") as db:
        row = db.execute(
            "SELECT run_id, value FROM xcom WHERE dag_id = ? AND key = ?", (dag_id, NOTEBOOK_XCOM_KEY)
        ).fetchone()
    if row is None:
        return None
    value = json.loads(row[1])
    return row[0], json.loads(value) if isinstance(value, str) else value


@pytest.mark.e2e
def test_airflow_dags_test_records_the_notebook_before_it_runs_and_stamps_it(
    conda_connection: CondaInstall, airflow_db: None, tmp_path: Path
) -> None:
    """The Notebook tab follows a run live: the record is there while the notebook runs."""
    dags, go = tmp_path / "dags", tmp_path / "go"
    write_notebook(dags / "waiting.ipynb", "go = ''", "print('started')", WAIT_FOR_GO, "print('finished')")
    dag_file = dags / "jupyter_conda_record.py"
    dag_file.write_text(
        textwrap.dedent(
            f"""
            from airflow.sdk import DAG
            from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator

            with DAG("jupyter_conda_record", schedule=None):
                JupyterCondaOperator(
                    task_id="waiting", input_nb="waiting.ipynb",
                    output_nb="out/{{{{ run_id }}}}/waiting.ipynb",
                    conda_env={conda_connection.env_name!r}, parameters={{"go": {str(go)!r}}},
                )
            """
        )
    )
    command = [sys.executable, "-m", "airflow", "dags", "test", "jupyter_conda_record", "-f", str(dag_file)]
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(dags)}
    task = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_for(lambda: recorded_notebook("jupyter_conda_record") is not None, 180), "no record"
        run_id, record = recorded_notebook("jupyter_conda_record")
        output = dags / "out" / run_id / "waiting.ipynb"
        assert record == {"output_nb": str(output), "conn_id": None}
        # papermill has saved the notebook in its waiting cell: the run is still going.
        assert wait_for(lambda: output.exists() and "started" in output.read_text(), 120)
        assert task.poll() is None
    finally:
        go.touch()
        log, _ = task.communicate(timeout=300)

    assert task.returncode == 0, log[-5000:]
    executed = nbformat.read(output, as_version=4)
    assert stamped_identity(executed) == {
        "dag_id": "jupyter_conda_record",
        "run_id": run_id,
        "task_id": "waiting",
        "map_index": -1,
    }
    assert executed.metadata.papermill.input_path == str(dags / "waiting.ipynb")

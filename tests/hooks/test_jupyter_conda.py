"""JupyterCondaHook end to end: real papermill and kernels in real conda-layout environments.

Named environments go through the ``conda.sh`` double with the connection taken from
``AIRFLOW_CONN_JUPYTER_CONDA_DEFAULT``; packed environments are real conda-pack archives;
every run goes through the package's bash script. Nothing is replaced by a mock.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tarfile
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from structlog.testing import capture_logs

from airflow_jupyter_provider.compat import AirflowException, AirflowFailException
from airflow_jupyter_provider.hooks.jupyter_conda import JupyterCondaHook
from airflow_jupyter_provider.run.run_result import RunResult
from devtools.conda_layout import build_env, conda_root, pack
from tests.helpers import (
    THRESHOLD_CHECK,
    TYPED_DEFAULTS,
    TYPED_PARAMETERS,
    CondaInstall,
    HookRun,
    ProcessMarker,
    injected_parameters,
    messages,
    run_notebook,
    wait_for,
    write_notebook,
)

CONN_ENV_VAR = "AIRFLOW_CONN_JUPYTER_CONDA_DEFAULT"

KERNEL_REPORT = (
    "import json, os, sys\n"
    "names = ['an_int', 'a_float', 'a_bool', 'a_none', 'a_list', 'a_dict', 'a_str']\n"
    "print('KERNEL_PREFIX', sys.prefix)\n"
    "print('KERNEL_CWD', os.getcwd())\n"
    "print('TYPES', json.dumps({name: type(globals()[name]).__name__ for name in names}))"
)
EXPECTED_TYPES = {
    "an_int": "int",
    "a_float": "float",
    "a_bool": "bool",
    "a_none": "NoneType",
    "a_list": "list",
    "a_dict": "dict",
    "a_str": "str",
}

#: Archives of the papermill-less environment, one per suffix the hook recognises.
BARE_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".tar", ".zip", ".TAR.GZ", ".Zip")


# --- helpers -------------------------------------------------------------------------------


def printed(output_nb: Path) -> list[str]:
    """What each cell of ``output_nb`` printed, one string per cell."""
    notebook = nbformat.read(output_nb, as_version=4)
    return [
        "".join(
            output.get("text", "") for output in cell.get("outputs", []) if output.output_type == "stream"
        )
        for cell in notebook.cells
    ]


def kernel_report(output_nb: Path) -> dict[str, str]:
    """The KERNEL_REPORT lines the kernel printed: KERNEL_PREFIX, KERNEL_CWD, TYPES."""
    report = {}
    for text in printed(output_nb):
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key in ("KERNEL_PREFIX", "KERNEL_CWD", "TYPES"):
                report[key] = value
    return report


def assert_typed_run(output_nb: Path) -> dict[str, str]:
    """The injected cell holds every value with its JSON type, and the kernel saw those types."""
    injected = injected_parameters(output_nb)
    assert injected == TYPED_PARAMETERS
    # == says True == 1 and 42 == 42.0: JSON text tells the types apart.
    assert json.dumps(injected, sort_keys=True) == json.dumps(TYPED_PARAMETERS, sort_keys=True)
    report = kernel_report(output_nb)
    assert json.loads(report["TYPES"]) == EXPECTED_TYPES
    return report


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def typed_notebook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("notebooks")
    return write_notebook(folder / "typed.ipynb", TYPED_DEFAULTS, KERNEL_REPORT)


def quiet_pack(prefix: Path, output: Path) -> Path:
    """conda-pack, without zipfile's warnings about the duplicate names it writes (activate.fish)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Duplicate name", UserWarning)
        return pack(prefix, output)


@pytest.fixture(scope="module")
def packed_zip(conda_install: CondaInstall, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test environment packed by conda-pack as .zip."""
    return quiet_pack(conda_install.prefix, tmp_path_factory.mktemp("packed-zip") / "jupyter-test.zip")


@pytest.fixture(scope="module")
def bare_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real conda-layout environment (a venv) without papermill.

    Its site-packages (pip, setuptools) are emptied: nothing tested needs them, and the
    environment then packs into archives small enough to make one per format. An activation
    script (conda runs ``etc/conda/activate.d/*.sh`` on activation) appends the activated
    prefix to the file named by $ACTIVATION_RECORD.
    """
    prefix = build_env(tmp_path_factory.mktemp("bare") / "bare-env", packages=())
    for site_packages in prefix.glob("lib/python*/site-packages"):
        shutil.rmtree(site_packages)
        site_packages.mkdir()
    activate_d = prefix / "etc" / "conda" / "activate.d"
    activate_d.mkdir(parents=True)
    (activate_d / "record.sh").write_text(
        'if [ -n "${ACTIVATION_RECORD:-}" ]; then\n    echo "$CONDA_PREFIX" >> "$ACTIVATION_RECORD"\nfi\n'
    )
    return prefix


@pytest.fixture(scope="module")
def bare_archives(bare_env: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``bare_env`` packed by conda-pack once per suffix (upper-case ones renamed after packing)."""
    folder = tmp_path_factory.mktemp("bare-packed")
    archives = {}
    for suffix in BARE_ARCHIVE_SUFFIXES:
        packed = quiet_pack(bare_env, folder / f"bare-{len(archives)}{suffix.lower()}")
        archives[suffix] = packed.rename(folder / f"bare-{len(archives)}{suffix}")
    return archives


@pytest.fixture(scope="module")
def bare_conda_sh(bare_env: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """conda.sh of an installation that knows ``bare_env`` by the name ``bare``."""
    root = tmp_path_factory.mktemp("conda-bare")
    conda_sh = conda_root(root)
    (root / "envs" / "bare").symlink_to(bare_env, target_is_directory=True)
    return conda_sh


@pytest.fixture
def no_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """No jupyter_conda connection at all: the hook uses its defaults."""
    monkeypatch.delenv(CONN_ENV_VAR, raising=False)


@pytest.fixture
def connection_to(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], None]:
    """Point the default connection's ``conda_path`` extra at a given conda.sh."""

    def point(conda_sh: Path) -> None:
        conn = {"conn_type": "jupyter_conda", "extra": {"conda_path": str(conda_sh)}}
        monkeypatch.setenv(CONN_ENV_VAR, json.dumps(conn))

    return point


@pytest.fixture
def dev_papermill_on_path(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put a papermill that is not the environment's on PATH: the hook must not run it."""
    venv_bin = Path(sys.executable).parent
    assert (venv_bin / "papermill").is_file(), "the dev venv has papermill"
    monkeypatch.setenv("PATH", f"{venv_bin}{os.pathsep}{os.environ['PATH']}")
    return venv_bin / "papermill"


# --- the three kinds of environment ----------------------------------------------------------


def test_named_environment_through_conda_sh(
    conda_connection: CondaInstall, typed_notebook: Path, tmp_path: Path
) -> None:
    output = tmp_path / "out" / "named.ipynb"

    result = run_notebook(
        JupyterCondaHook(),
        input_nb=str(typed_notebook),
        output_nb=str(output),
        conda_env=conda_connection.env_name,
        parameters=TYPED_PARAMETERS,
    )

    assert result.output_nb == str(output)
    report = assert_typed_run(output)
    assert report["KERNEL_PREFIX"] == str(conda_connection.prefix)
    # The kernel starts in the notebook's folder, as Jupyter starts it.
    assert report["KERNEL_CWD"] == str(typed_notebook.parent)


@pytest.mark.parametrize("as_url", [False, True], ids=["path", "file URL"])
def test_environment_prefix_path(
    as_url: bool, conda_connection: CondaInstall, typed_notebook: Path, tmp_path: Path
) -> None:
    output = tmp_path / "out" / "prefix.ipynb"
    prefix = conda_connection.prefix

    result = run_notebook(
        JupyterCondaHook(),
        input_nb=str(typed_notebook),
        output_nb=str(output),
        conda_env=prefix.as_uri() if as_url else str(prefix),
        parameters=json.dumps(TYPED_PARAMETERS),  # JSON text keeps the types too
    )

    assert result.output_nb == str(output)
    assert kernel_report(output)["KERNEL_PREFIX"] == str(prefix)
    assert_typed_run(output)


@pytest.mark.parametrize("how", ["tar.gz path", "zip path", "TAR.GZ file URL"])
def test_packed_environment_runs_the_notebook(
    how: str,
    request: pytest.FixtureRequest,
    packed_env: Path,
    conda_install: CondaInstall,
    no_connection: None,
    typed_notebook: Path,
    tmp_path: Path,
) -> None:
    if how == "tar.gz path":
        conda_env = str(packed_env)
    elif how == "zip path":
        conda_env = str(request.getfixturevalue("packed_zip"))
    else:
        linked = tmp_path / "packed envs" / "Jupyter-Test.TAR.GZ"
        linked.parent.mkdir()
        os.link(packed_env, linked)
        conda_env = linked.as_uri()  # file:///.../packed%20envs/Jupyter-Test.TAR.GZ
        assert "%20" in conda_env
    output = tmp_path / "out" / "packed.ipynb"

    result = run_notebook(
        JupyterCondaHook(),
        input_nb=str(typed_notebook),
        output_nb=str(output),
        conda_env=conda_env,
        parameters=TYPED_PARAMETERS,
    )

    assert result.output_nb == str(output)
    report = assert_typed_run(output)
    # The kernel ran from the unpacked copy, not from the environment that was packed: the
    # copy's papermill script starts the copy's python only once conda-unpack has rewritten
    # its first line (it names the packed environment's python until then).
    assert report["KERNEL_PREFIX"] != str(conda_install.prefix)


@pytest.mark.parametrize("suffix", BARE_ARCHIVE_SUFFIXES)
def test_packed_environment_of_every_suffix_is_unpacked_and_activated(
    suffix: str,
    bare_archives: dict[str, Path],
    bare_env: Path,
    no_connection: None,
    monkeypatch: pytest.MonkeyPatch,
    dev_papermill_on_path: Path,
    typed_notebook: Path,
    tmp_path: Path,
) -> None:
    """Each archive format gets as far as papermill: the environment has none, and says so.

    That message comes from the script after ``bin/activate`` and ``conda-unpack`` succeeded
    (their failures have messages of their own), and only for an archive recognised as one
    (as an environment name it would need the conda.sh that is missing here). The
    environment's activation script tells where the unpacked copy was activated.
    """
    record = tmp_path / "activated"
    monkeypatch.setenv("ACTIVATION_RECORD", str(record))
    output = tmp_path / "out.ipynb"

    with pytest.raises(AirflowFailException) as caught:
        run_notebook(
            JupyterCondaHook(),
            input_nb=str(typed_notebook),
            output_nb=str(output),
            conda_env=str(bare_archives[suffix]),
        )

    message = str(caught.value)
    assert f"the environment '{bare_archives[suffix]}' has no papermill" in message
    assert "install papermill and ipykernel into it" in message
    activated = record.read_text().splitlines()
    assert len(activated) == 1 and activated[0] not in ("", str(bare_env)), activated
    assert not output.exists()


# --- what the task log shows -----------------------------------------------------------------


def test_cell_output_reaches_the_log_line_by_line_while_the_notebook_runs(
    conda_connection: CondaInstall, tmp_path: Path
) -> None:
    """The second cell waits until the test has seen the first cell's lines in the log.

    Output collected only when papermill ends would leave the cell waiting, and it would
    print "never released" instead.
    """
    release = tmp_path / "release"
    notebook = write_notebook(
        tmp_path / "stream.ipynb",
        "release = ''",
        "print('first line')\nprint('second line\\nthird line')",
        "import os, time\n"
        "deadline = time.monotonic() + 60\n"
        "while not os.path.exists(release) and time.monotonic() < deadline:\n"
        "    time.sleep(0.05)\n"
        "print('released' if os.path.exists(release) else 'never released')",
    )
    output = tmp_path / "stream-out.ipynb"

    with capture_logs() as logs:
        run = HookRun(
            JupyterCondaHook(),
            input_nb=str(notebook),
            output_nb=str(output),
            conda_env=conda_connection.env_name,
            parameters={"release": str(release)},
        )
        run.start()
        seen = wait_for(lambda: "third line" in messages(logs), timeout=60)
        running_when_seen = run.is_alive()
        release.touch()
        run.join(timeout=60)

    assert seen, f"the first cell's output never reached the log while the notebook ran: {messages(logs)}"
    assert running_when_seen
    assert run.error is None and run.result == str(output)
    lines = messages(logs)
    # Each printed line is a log line of its own, in the order printed.
    positions = [lines.index(line) for line in ("first line", "second line", "third line", "released")]
    assert positions == sorted(positions)
    assert "never released" not in lines


def test_failing_cell_fails_the_task_naming_the_cell_and_keeps_the_partial_notebook(
    conda_connection: CondaInstall, tmp_path: Path
) -> None:
    notebook = write_notebook(
        tmp_path / "failing.ipynb",
        "threshold = 0",
        "print('before the failure')",
        THRESHOLD_CHECK,
        "print('never printed')",
    )
    output = tmp_path / "out" / "failing.ipynb"
    html = tmp_path / "html" / "failing.html"

    with capture_logs() as logs, pytest.raises(AirflowException) as caught:
        hook = JupyterCondaHook()
        run_notebook(
            hook,
            input_nb=str(notebook),
            output_nb=str(output),
            conda_env=conda_connection.env_name,
            parameters={"threshold": 42},
            output_html=str(html),
        )

    # A failing notebook may pass on a retry (data, network): it is not a fail-fast error.
    assert not isinstance(caught.value, AirflowFailException)
    message = str(caught.value)
    # Cells run: parameters [1], injected parameters [2], print [3], raise [4].
    assert "cell [4] raised ValueError: threshold 42 is too high" in message
    assert str(output) in message
    cells = nbformat.read(output, as_version=4).cells
    raising = next(cell for cell in cells if "raise ValueError" in cell.source)
    assert raising.execution_count == 4
    texts = dict(zip((cell.source for cell in cells), printed(output), strict=True))
    assert texts["print('before the failure')"] == "before the failure\n"
    assert texts["print('never printed')"] == ""
    # The task log, as the user reads it: each cell as it starts, its output, then the failure.
    lines = messages(logs)
    assert lines[:10] == [
        f"Running {notebook} in conda environment {conda_connection.env_name}",
        f"Input Notebook:  {notebook}",
        f"Output Notebook: {output}",
        f"Working directory: {tmp_path}",
        "Executing notebook with kernel: python3",
        "cell 1/5: threshold = 0",
        "cell 2/5: (injected parameters)",
        "cell 3/5: print('before the failure')",
        "before the failure",
        "cell 4/5: # check the threshold",
    ]
    # Written once the run's process has ended, so last.
    report = [
        "cell 4/5 failed: ValueError: threshold 42 is too high",
        "Source of the cell:",
        "    # check the threshold",
        "    raise ValueError(f'threshold {threshold} is too high')",
        "Traceback:",
        "    ---------------------------------------------------------------------------",
        "    ValueError                                Traceback (most recent call last)",
        "    Cell In[4], line 2",
        "          1 # check the threshold",
        "    ----> 2 raise ValueError(f'threshold {threshold} is too high')",
        "",
        "    ValueError: threshold 42 is too high",
        f"Executed notebook as HTML: {html}",
    ]
    assert lines[-len(report) :] == report
    # Between them, at most what the kernel itself printed while it shut down: now and then
    # libzmq's or tornado's shutdown races (seen in CI) reach the log through its stderr.
    between = lines[10 : -len(report)]
    assert len(between) <= 3 and not any(line.startswith("cell ") for line in between), between
    assert [entry["log_level"] for entry in logs if "failed: ValueError" in entry["event"]] == ["error"]
    # The HTML shows the failure too.
    assert RunResult.attached_to(caught.value).output_html == str(html)
    assert "ValueError</span>: threshold 42 is too high" in html.read_text(encoding="utf-8")


def test_dead_kernel_is_named_from_what_papermill_ended_with(
    conda_connection: CondaInstall, tmp_path: Path
) -> None:
    """No cell shows an error when the kernel itself dies: papermill's last words say why."""
    notebook = write_notebook(tmp_path / "dies.ipynb", "code = 0", "import os\nos._exit(code)")
    output = tmp_path / "dies-out.ipynb"

    with capture_logs() as logs, pytest.raises(AirflowException) as caught:
        run_notebook(
            JupyterCondaHook(),
            input_nb=str(notebook),
            output_nb=str(output),
            conda_env=conda_connection.env_name,
            parameters={"code": 3},
        )

    assert "nbclient.exceptions.DeadKernelError: Kernel died" in str(caught.value)
    errors = [entry["event"] for entry in logs if entry["log_level"] == "error"]
    assert errors == ["nbclient.exceptions.DeadKernelError: Kernel died"]
    # papermill's traceback itself is not in the task log (it is at DEBUG).
    assert not any(line.startswith("Traceback") for line in messages(logs))


def test_html_that_cannot_be_written_is_a_warning_and_the_run_succeeds(
    conda_connection: CondaInstall, tmp_path: Path
) -> None:
    notebook = write_notebook(tmp_path / "ok.ipynb", "n = 0", "print('squared', n * n)")
    output = tmp_path / "ok-out.ipynb"
    (tmp_path / "a-file").write_text("not a folder")
    html = tmp_path / "a-file" / "ok.html"

    with capture_logs() as logs:
        hook = JupyterCondaHook()
        result = run_notebook(
            hook,
            input_nb=str(notebook),
            output_nb=str(output),
            conda_env=conda_connection.env_name,
            parameters={"n": 7},
            output_html=str(html),
        )

    assert result.output_nb == str(output)
    assert "squared 49" in messages(logs)
    warnings = [event for entry in logs if entry["log_level"] == "warning" for event in messages([entry])]
    assert len(warnings) == 1 and warnings[0].startswith(f"Could not render {output} as HTML at {html}: ")
    assert result.output_html is None


def test_notebook_papermill_cannot_read_leaves_no_html_of_an_earlier_try(
    conda_connection: CondaInstall, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """papermill stops before writing the output notebook: the one an earlier try left there
    is not rendered as if it were this run's."""
    notebook = tmp_path / "broken.ipynb"
    notebook.write_text("{ not a notebook")
    output = tmp_path / "out.ipynb"
    write_notebook(output, "x = 1")  # what an earlier try wrote, an hour ago
    os.utime(output, (time.time() - 3600, time.time() - 3600))
    html = tmp_path / "out.html"

    with capture_logs() as logs, pytest.raises(AirflowException) as caught:
        hook = JupyterCondaHook()
        run_notebook(
            hook,
            input_nb=str(notebook),
            output_nb=str(output),
            conda_env=conda_connection.env_name,
            output_html=str(html),
        )

    assert f"Could not read {notebook} to show which cell runs" in caplog.text
    # No cell failed: the exception papermill ended with says what happened.
    assert "papermill exited with status 1: nbformat.reader.NotJSONError: Notebook does not appear" in str(
        caught.value
    )
    assert f"No HTML at {html}: papermill wrote no output notebook in this run" in messages(logs)
    assert not html.exists() and RunResult.attached_to(caught.value).output_html is None


@pytest.mark.parametrize("same_as", ["input_nb", "output_nb"])
def test_output_html_that_would_overwrite_a_notebook_is_refused_before_anything_runs(
    same_as: str, conda_connection: CondaInstall, typed_notebook: Path, tmp_path: Path
) -> None:
    # Notebooks named .html, the one kind of name output_html may have.
    notebook = tmp_path / "in.html"
    notebook.write_bytes(typed_notebook.read_bytes())
    output = tmp_path / "out.html"
    html = str(notebook) if same_as == "input_nb" else f"file://{output}"

    with pytest.raises(AirflowFailException) as caught:
        run_notebook(
            JupyterCondaHook(),
            input_nb=str(notebook),
            output_nb=str(output),
            conda_env="any-env",
            output_html=html,
        )

    assert str(caught.value) == f"output_html {html!r} is {same_as}: the HTML would overwrite it"
    assert notebook.read_bytes() == typed_notebook.read_bytes()
    assert not output.exists()


def test_output_html_rendered_from_a_template_must_name_an_html_file(
    conda_connection: CondaInstall, typed_notebook: Path, tmp_path: Path
) -> None:
    """A templated output_html is known only at run time: checked then, before anything runs."""
    output, report = tmp_path / "out.ipynb", str(tmp_path / "report.txt")

    with pytest.raises(AirflowFailException) as caught:
        run_notebook(
            JupyterCondaHook(),
            input_nb=str(typed_notebook),
            output_nb=str(output),
            conda_env="any-env",
            output_html=report,
        )

    assert (
        str(caught.value)
        == f"output_html must be a local path (or file:// URL) ending in .html, got {report!r}"
    )
    assert not output.exists()


# --- errors a retry cannot fix ---------------------------------------------------------------


def test_missing_conda_sh(
    connection_to: Callable[[Path], None], typed_notebook: Path, tmp_path: Path
) -> None:
    conda_sh = tmp_path / "anaconda3" / "etc" / "profile.d" / "conda.sh"
    connection_to(conda_sh)
    output = tmp_path / "out.ipynb"

    with pytest.raises(AirflowFailException) as caught:
        run_notebook(
            JupyterCondaHook(), input_nb=str(typed_notebook), output_nb=str(output), conda_env="any-env"
        )

    message = str(caught.value)
    assert f"conda.sh not found at '{conda_sh}'" in message
    assert "'conda_path' extra of the jupyter_conda connection" in message
    assert not output.exists()


def test_conda_sh_that_fails_when_sourced(
    connection_to: Callable[[Path], None], typed_notebook: Path, tmp_path: Path
) -> None:
    conda_sh = tmp_path / "conda.sh"
    conda_sh.write_text("echo 'conda.sh: broken installation' >&2\nreturn 3\n")
    connection_to(conda_sh)
    output = tmp_path / "out.ipynb"

    with capture_logs() as logs, pytest.raises(AirflowFailException) as caught:
        run_notebook(
            JupyterCondaHook(), input_nb=str(typed_notebook), output_nb=str(output), conda_env="any-env"
        )

    assert f"sourcing conda.sh at '{conda_sh}' failed" in str(caught.value)
    assert "conda.sh: broken installation" in messages(logs)
    assert not output.exists()


def test_unknown_environment_name(
    conda_connection: CondaInstall, typed_notebook: Path, tmp_path: Path
) -> None:
    output = tmp_path / "out.ipynb"

    with capture_logs() as logs, pytest.raises(AirflowFailException) as caught:
        run_notebook(
            JupyterCondaHook(), input_nb=str(typed_notebook), output_nb=str(output), conda_env="no-such-env"
        )

    message = str(caught.value)
    assert "could not activate the environment 'no-such-env'" in message
    assert "conda env list" in message
    # conda's own words reach the task log too.
    assert any("Could not find conda environment: no-such-env" in line for line in messages(logs))
    assert not output.exists()


@pytest.mark.parametrize("by", ["name", "prefix"])
def test_environment_without_papermill(
    by: str,
    bare_env: Path,
    bare_conda_sh: Path,
    connection_to: Callable[[Path], None],
    dev_papermill_on_path: Path,
    typed_notebook: Path,
    tmp_path: Path,
) -> None:
    connection_to(bare_conda_sh)
    conda_env = "bare" if by == "name" else str(bare_env)
    output = tmp_path / "out.ipynb"

    with capture_logs() as logs, pytest.raises(AirflowFailException) as caught:
        run_notebook(
            JupyterCondaHook(), input_nb=str(typed_notebook), output_nb=str(output), conda_env=conda_env
        )

    assert f"the environment '{conda_env}' has no papermill" in str(caught.value)
    # The papermill further down PATH did not run in its place.
    assert not any(line.startswith("Input Notebook:") for line in messages(logs))
    assert not output.exists()


@pytest.mark.parametrize("suffix", [".tar.gz", ".zip"])
def test_archive_that_is_not_a_conda_pack_archive(
    suffix: str, no_connection: None, typed_notebook: Path, tmp_path: Path
) -> None:
    content = tmp_path / "content"
    (content / "data").mkdir(parents=True)
    (content / "data" / "readme.txt").write_text("just some files\n")
    (content / "bin").mkdir()
    (content / "bin" / "python").write_text("#!/bin/sh\n")
    archive = tmp_path / f"files{suffix}"
    if suffix == ".zip":
        with zipfile.ZipFile(archive, "w") as zf:
            for path in sorted(content.rglob("*")):
                zf.write(path, path.relative_to(content))
    else:
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(content, arcname=".")
    output = tmp_path / "out.ipynb"

    with pytest.raises(AirflowFailException) as caught:
        run_notebook(
            JupyterCondaHook(), input_nb=str(typed_notebook), output_nb=str(output), conda_env=str(archive)
        )

    message = str(caught.value)
    assert f"'{archive}' is not a conda-pack archive" in message
    assert "bin/activate" in message and "conda-meta" in message
    assert "conda pack" in message
    assert not output.exists()


def test_archive_that_cannot_be_unpacked(no_connection: None, typed_notebook: Path, tmp_path: Path) -> None:
    archive = tmp_path / "broken.tar.gz"
    archive.write_bytes(b"this is no gzip data at all\n" * 100)
    output = tmp_path / "out.ipynb"

    with pytest.raises(AirflowFailException) as caught:
        run_notebook(
            JupyterCondaHook(), input_nb=str(typed_notebook), output_nb=str(output), conda_env=str(archive)
        )

    assert f"cannot unpack '{archive}'" in str(caught.value)
    assert not output.exists()


def test_prefix_without_conda_meta(
    conda_connection: CondaInstall, typed_notebook: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "not-an-env"
    (folder / "bin").mkdir(parents=True)
    output = tmp_path / "out.ipynb"

    with pytest.raises(AirflowFailException) as caught:
        run_notebook(
            JupyterCondaHook(), input_nb=str(typed_notebook), output_nb=str(output), conda_env=str(folder)
        )

    assert f"'{folder}' is not a conda environment (it has no conda-meta/ folder)" in str(caught.value)
    assert not output.exists()


def test_missing_archive_may_be_retried(no_connection: None, typed_notebook: Path, tmp_path: Path) -> None:
    """An archive not there yet (still being copied, a mount not up) is worth a retry."""
    archive = tmp_path / "later.tar.gz"

    with pytest.raises(AirflowException) as caught:
        run_notebook(
            JupyterCondaHook(),
            input_nb=str(typed_notebook),
            output_nb=str(tmp_path / "out.ipynb"),
            conda_env=str(archive),
        )

    assert not isinstance(caught.value, AirflowFailException)
    assert f"no archive at '{archive}'" in str(caught.value)


def test_fault_of_the_worker_while_unpacking_fails_without_retry(
    no_connection: None,
    bare_archives: dict[str, Path],
    typed_notebook: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    without_libarchive: None,
) -> None:
    """An unpacker that breaks as Python 3.11.2's tarfile did (no extraction filters) fails at once."""
    from airflow_jupyter_provider.environments import archive as archive_module

    def extractall_without_filters(self: Any, path: str = ".", members: Any = None, **kwargs: Any) -> None:
        if "filter" in kwargs:
            raise TypeError("TarFile.extractall() got an unexpected keyword argument 'filter'")

    monkeypatch.setattr(archive_module.tarfile.TarFile, "extractall", extractall_without_filters)
    monkeypatch.setenv("AIRFLOW__JUPYTER_CONDA__ENV_CACHE_DIR", str(tmp_path / "cache"))
    archive = bare_archives[".tar.gz"]

    with pytest.raises(AirflowFailException) as caught:
        run_notebook(
            JupyterCondaHook(),
            input_nb=str(typed_notebook),
            output_nb=str(tmp_path / "out.ipynb"),
            conda_env=str(archive),
        )

    message = str(caught.value)
    assert f"preparing {archive} failed with TypeError: TarFile.extractall()" in message
    assert "a retry would fail the same way" in message
    assert not (tmp_path / "out.ipynb").exists()


def test_parameter_name_that_is_not_an_identifier_is_refused_before_anything_runs(
    conda_connection: CondaInstall, typed_notebook: Path, tmp_path: Path
) -> None:
    canary = tmp_path / "CANARY"
    # Injected as a name, this would be a statement of its own in the notebook's injected cell.
    name = f"x = 1; import pathlib; pathlib.Path({str(canary)!r}).touch(); y"
    output = tmp_path / "out.ipynb"

    with pytest.raises(AirflowFailException) as caught:
        run_notebook(
            JupyterCondaHook(),
            input_nb=str(typed_notebook),
            output_nb=str(output),
            conda_env=conda_connection.env_name,
            parameters={"an_int": 1, name: 1},
        )

    assert f"parameters: name {name!r} is not a valid variable name" in str(caught.value)
    assert not output.exists()
    assert not canary.exists()


# --- stopping a run --------------------------------------------------------------------------


def test_kill_ends_papermill_and_the_kernel_and_keeps_the_partial_notebook(
    conda_connection: CondaInstall, process_marker: ProcessMarker, tmp_path: Path
) -> None:
    notebook = write_notebook(
        tmp_path / "sleepy.ipynb",
        "minutes = 0",
        "print('before the sleep')",
        "import time\nprint('sleeping', flush=True)\ntime.sleep(60 * minutes)",
    )
    output = tmp_path / "out" / "sleepy.ipynb"
    hook = JupyterCondaHook()

    with capture_logs() as logs:
        run = HookRun(
            hook,
            input_nb=str(notebook),
            output_nb=str(output),
            conda_env=conda_connection.env_name,
            parameters={"minutes": 10},
        )
        run.start()
        try:
            sleeping = wait_for(lambda: "sleeping" in messages(logs), timeout=60)
            during = process_marker.processes()
        finally:
            hook.kill()  # from this thread, while the run's thread streams the output
            run.join(timeout=30)

    assert sleeping, messages(logs)
    prefix = str(conda_connection.prefix)
    # papermill runs in the environment's Python, started through start_papermill.py.
    assert any(
        cmdline.startswith(f"{prefix}/bin/python") and "start_papermill.py" in cmdline
        for cmdline in during.values()
    ), during
    assert any(
        cmdline.startswith(f"{prefix}/bin/python") and "ipykernel_launcher" in cmdline
        for cmdline in during.values()
    ), during
    assert not run.is_alive(), "the run went on after kill()"
    assert isinstance(run.error, AirflowException) and not isinstance(run.error, AirflowFailException)
    assert f"The run of {notebook} was stopped before it finished" in str(run.error)
    assert process_marker.survivors() == {}
    # The output notebook is kept, with what ran before the stop.
    assert "before the sleep\n" in printed(output)


def test_kill_while_the_archive_unpacks_stops_the_run_before_papermill_starts(
    no_connection: None,
    packed_env: Path,
    process_marker: ProcessMarker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW__JUPYTER_CONDA__ENV_CACHE_DIR", str(tmp_path / "cold-cache"))
    notebook = write_notebook(tmp_path / "nb.ipynb", "x = 0", "print('ran')")
    output = tmp_path / "out.ipynb"
    hook = JupyterCondaHook()

    with capture_logs() as logs:
        run = HookRun(hook, input_nb=str(notebook), output_nb=str(output), conda_env=str(packed_env))
        run.start()
        try:
            fetched = wait_for(lambda: any(" fetched " in m for m in messages(logs)), timeout=30)
        finally:
            hook.kill()  # the task is told to stop while its environment is still being unpacked
            run.join(timeout=120)

    assert fetched, messages(logs)
    assert not run.is_alive()
    assert isinstance(run.error, AirflowException)
    assert f"The run of {notebook} was stopped before it started" in str(run.error)
    assert not output.exists()
    assert process_marker.survivors() == {}


def test_cell_longer_than_jupyter_execution_timeout_is_named_as_such(
    conda_connection: CondaInstall, tmp_path: Path
) -> None:
    notebook = write_notebook(tmp_path / "slow.ipynb", "x = 0", "import time\ntime.sleep(30)")
    output = tmp_path / "out.ipynb"

    with pytest.raises(AirflowException) as caught:
        run_notebook(
            JupyterCondaHook(),
            input_nb=str(notebook),
            output_nb=str(output),
            conda_env=conda_connection.env_name,
            execution_timeout=2,
        )

    assert "cell [2] ran longer than jupyter_execution_timeout=2 s" in str(caught.value)
    assert output.exists()


# --- paths papermill would otherwise rewrite -------------------------------------------------


def test_braces_in_notebook_paths_are_kept_verbatim(conda_connection: CondaInstall, tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "in {x}.ipynb", "x = 0")
    output = tmp_path / "out {x} {}.ipynb"

    result = run_notebook(
        JupyterCondaHook(),
        input_nb=str(notebook),
        output_nb=str(output),
        conda_env=conda_connection.env_name,
        parameters={"x": 5},
    )

    assert result.output_nb == str(output)
    assert injected_parameters(output) == {"x": 5}

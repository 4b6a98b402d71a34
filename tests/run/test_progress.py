"""The task log of a run, from what papermill printed: exact lines, as the user reads them.

``papermill_output/*.log`` is what papermill 2.7.0 (ipykernel 7.4.0) really printed, stdout
and stderr merged as the hook reads them, from
``papermill --log-output --no-progress-bar --parameters_file P -- IN OUT`` in a conda-layout
environment (``progress_bar.log`` adds ``--progress-bar``); environment paths in the
tracebacks are shortened to ``/opt/conda/envs/demo``. The notebooks are rebuilt here with
the sources they had. The hook's tests check the same formatting on live runs.
"""

from __future__ import annotations

import logging
from pathlib import Path

import nbformat
import pytest

from airflow_jupyter_provider.run.progress import CellPlan, CellProgress, load_input_notebook, strip_ansi
from tests.helpers import write_notebook

SAMPLES = Path(__file__).parent / "papermill_output"


def papermill_lines(name: str) -> list[str]:
    """A captured output, line by line as StreamedProcess hands them over."""
    text = (SAMPLES / name).read_bytes().decode("utf-8")
    return [line.rstrip("\r") for line in text.removesuffix("\n").split("\n")]


def task_log(progress: CellProgress, lines: list[str]) -> tuple[list[str], list[str]]:
    """(the lines the task log shows at INFO and above, the DEBUG ones)."""
    shown, debug = [], []
    for line in lines:
        for level, text in progress.lines(line):
            (debug if level == logging.DEBUG else shown).append(text)
    return shown, debug


def code_cells(*sources: str, tags: dict[int, list[str]] | None = None) -> list:
    cells = [nbformat.v4.new_code_cell(source) for source in sources]
    for index, cell_tags in (tags or {}).items():
        cells[index].metadata["tags"] = cell_tags
    return cells


# --- real papermill output -------------------------------------------------------------------


def test_failed_cell_run(tmp_path: Path) -> None:
    notebook = write_notebook(
        tmp_path / "fail.ipynb",
        "rows = 3",
        "print('loading', rows)\nprint('second line')",
        "# compute\nfrom IPython.display import JSON, display\ndisplay(JSON({'a': 1}))\n1+1",
        "\n\nimport sys\nprint('to stderr', file=sys.stderr)\nraise ValueError(f'no data for {rows}')",
        "print('never')",
    )
    progress = CellProgress(CellPlan.of(load_input_notebook(str(notebook)).cells, injects_parameters=True))

    shown, debug = task_log(progress, papermill_lines("failed_cell.log"))

    assert shown == [
        "Input Notebook:  fail.ipynb",
        "Output Notebook: out.ipynb",
        "Executing notebook with kernel: python3",
        "cell 1/6: rows = 3",
        "cell 2/6: (injected parameters)",
        "cell 3/6: print('loading', rows)",
        "loading 5",
        "second line",
        "cell 4/6: # compute",
        "2",
        "cell 5/6: import sys",
        "to stderr",
    ]
    # The kernel's warning, papermill's markers and its own traceback are there for DEBUG only.
    assert any("Kernel is running over TCP without encryption" in line for line in debug)
    assert "Ending Cell 5------------------------------------------" in debug
    assert "<IPython.core.display.JSON object>" in debug  # what display(JSON(...)) shows as text
    assert "papermill.exceptions.PapermillExecutionError:" in debug
    # Kept for when the notebook does not show the failure itself.
    assert progress.papermill_error[0] == "papermill.exceptions.PapermillExecutionError:"
    assert progress.papermill_error[-1] == "ValueError: no data for 5"


def test_cell_timeout_drops_the_kernels_shutdown_traceback_and_ansi_codes(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Title"),
        *code_cells(
            "x = 1",
            "",
            "print('\\033[31mred\\033[0m text')\nimport time; time.sleep(0.2)",
            "import time\ntime.sleep(30)",
            tags={0: ["parameters"]},
        ),
    ]
    progress = CellProgress(CellPlan.of(notebook.cells, injects_parameters=True))

    shown, debug = task_log(progress, papermill_lines("cell_timeout.log"))

    assert shown == [
        "Input Notebook:  slow.ipynb",
        "Output Notebook: slowout.ipynb",
        "Executing notebook with kernel: python3",
        "cell 1/4: x = 1",
        "cell 2/4: (injected parameters)",
        "cell 3/4: print('\\033[31mred\\033[0m text')",
        "red text",
        "cell 4/4: import time",
        "Timeout waiting for execute reply (2s).",
    ]
    assert "zmq.error.ZMQError: Socket operation on non-socket" in debug
    assert "[IPKernelApp] ERROR | Exception in message handler:" in debug
    # The exception papermill ended with, not the kernel's ZMQ error printed before it.
    assert progress.papermill_error == [
        "nbclient.exceptions.CellTimeoutError: A cell timed out while it was being executed, "
        "after 2 seconds.",
        "The message was: Cell execution timed out.",
        "Here is a preview of the cell contents:",
        "-------------------",
        "import time",
        "time.sleep(30)",
        "-------------------",
    ]


def test_dead_kernel_without_parameters_injects_no_cell(tmp_path: Path) -> None:
    notebook = write_notebook(
        tmp_path / "dies.ipynb", "n = 1", 'print("about to die")', "import os\nos._exit(3)", 'print("after")'
    )
    progress = CellProgress(CellPlan.of(load_input_notebook(str(notebook)).cells, injects_parameters=False))

    shown, _ = task_log(progress, papermill_lines("dead_kernel.log"))

    assert shown == [
        "Input Notebook:  dies.ipynb",
        "Output Notebook: diesout.ipynb",
        "Executing notebook with kernel: python3",
        "cell 1/4: n = 1",
        'cell 2/4: print("about to die")',
        "about to die",
        "cell 3/4: import os",
        "Kernel died while waiting for execute reply.",
    ]
    assert progress.papermill_error == ["nbclient.exceptions.DeadKernelError: Kernel died"]


def test_progress_bar_shares_lines_with_papermills_messages(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "ok.ipynb", "n = 1", 'print("squared", n * n)')
    progress = CellProgress(CellPlan.of(load_input_notebook(str(notebook)).cells, injects_parameters=True))

    shown, debug = task_log(progress, papermill_lines("progress_bar.log"))

    assert shown == [
        "Input Notebook:  ok.ipynb",
        "Output Notebook: okout.ipynb",
        "Passed unknown parameter: x",
        "Executing notebook with kernel: python3",
        "cell 1/3: n = 1",
        "cell 2/3: (injected parameters)",
        'cell 3/3: print("squared", n * n)',
        "squared 1",
    ]
    bars = [line for line in debug if line.startswith("Executing: ")]
    assert [bar.split("|")[0] for bar in bars] == ["Executing:   0%", "Executing:  33%", "Executing: 100%"]
    assert progress.papermill_error == []


# --- which cell is which -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "injects", "expected"),
    [
        # After the parameters cell.
        ({1: ["parameters"]}, True, ["a = 0", "p = 1", "(injected parameters)", "b = 2"]),
        # In place of an injected cell left by an earlier papermill run.
        ({1: ["parameters"], 2: ["injected-parameters"]}, True, ["a = 0", "p = 1", "(injected parameters)"]),
        # First, without a parameters cell.
        ({}, True, ["(injected parameters)", "a = 0", "p = 1", "b = 2"]),
        # Nothing to inject: papermill leaves the notebook as it is.
        ({1: ["parameters"]}, False, ["a = 0", "p = 1", "b = 2"]),
    ],
    ids=["after parameters", "replaces injected", "first", "none"],
)
def test_injected_parameters_cell_where_papermill_puts_it(
    tags: dict[int, list[str]], injects: bool, expected: list[str]
) -> None:
    cells = code_cells("a = 0", "p = 1", "b = 2", tags=tags)

    plan = CellPlan.of(cells, injects_parameters=injects)

    described = [plan.describe(position) for position in range(1, len(plan.positions) + 1)]
    assert described == [f"cell {n}/{len(expected)}: {label}" for n, label in enumerate(expected, 1)]


def test_cells_that_do_not_run_are_not_counted_and_only_logged_at_debug() -> None:
    cells = [
        nbformat.v4.new_markdown_cell("# Heading"),
        *code_cells(
            "   \n\n", "x = 1", "skipped = True", "\n\n    # step two\ny = 2", tags={2: ["skip-execution"]}
        ),
        nbformat.v4.new_raw_cell("raw"),
    ]
    progress = CellProgress(CellPlan.of(cells, injects_parameters=False))

    shown, debug = task_log(progress, [f"Executing Cell {n}{'-' * 39}" for n in range(1, 7)])

    assert shown == ["cell 1/2: x = 1", "cell 2/2: # step two"]
    assert len(debug) == 4


def test_long_first_line_is_shortened() -> None:
    plan = CellPlan.of(code_cells("x = '" + "a" * 200 + "'"), injects_parameters=False)

    assert plan.describe(1) == "cell 1/1: x = '" + "a" * 92 + "..."  # 100 characters


def test_without_a_plan_papermills_own_cell_lines_show(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        notebook = load_input_notebook(str(tmp_path / "missing.ipynb"))
    progress = CellProgress(None)

    shown, _ = task_log(progress, papermill_lines("dead_kernel.log"))

    assert notebook is None
    assert (
        f"Could not read {tmp_path / 'missing.ipynb'} to show which cell runs and check its kernel"
        in caplog.text
    )
    assert "Executing Cell 2---------------------------------------" in shown
    assert "about to die" in shown


def test_cell_output_is_passed_as_printed_without_colours_or_carriage_returns() -> None:
    progress = CellProgress(CellPlan.of(code_cells("work()"), injects_parameters=False))
    lines = [
        "Executing Cell 1---------------------------------------",
        "\x1b[1;32mOK\x1b[0m   indented  ",
        "Traceback (most recent call last):",  # printed by the cell: its output, not papermill's
        '  File "<stdin>", line 1',
        "\r 10%|█         | 1/10\r 20%|██        | 2/10",
        "Ending Cell 1------------------------------------------",
    ]

    shown, _ = task_log(progress, lines)

    assert shown == [
        "cell 1/1: work()",
        "OK   indented",
        "Traceback (most recent call last):",
        '  File "<stdin>", line 1',
        " 20%|██        | 2/10",
    ]
    assert progress.papermill_error == []


def test_strip_ansi_removes_colours_cursor_moves_and_titles() -> None:
    assert strip_ansi("\x1b[38;5;28;01mimport\x1b[39;00m sys\x1b[2K\x1b]0;title\x07!") == "import sys!"

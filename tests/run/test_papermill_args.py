"""The papermill argument vector, and the words of ``others``."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_jupyter_provider.run.papermill_args import PapermillCommand
from airflow_jupyter_provider.run.papermill_options import split_others


def test_every_argument_has_its_papermill_option_and_paths_come_last():
    command = PapermillCommand(
        input_nb="-odd name.ipynb",
        output_nb="out.ipynb",
        parameters_file=Path("/run/p.yaml"),
        kernel="python3",
        engine="native",
        execution_timeout=60,
        start_timeout=30,
        others=["--cwd", "/data"],
    )
    assert command.argv() == [
        "--log-output",
        "--no-progress-bar",
        "--parameters_file",
        "/run/p.yaml",
        "--kernel",
        "python3",
        "--engine",
        "native",
        "--execution-timeout",
        "60",
        "--start-timeout",
        "30",
        "--cwd",
        "/data",
        "--",
        "-odd name.ipynb",
        "out.ipynb",
    ]


def test_others_text_is_split_as_a_shell_splits_words_without_running_anything():
    assert split_others("--cwd '/data/my folder' --report-mode $(rm -rf /)") == [
        "--cwd",
        "/data/my folder",
        "--report-mode",
        "$(rm",
        "-rf",
        "/)",
    ]
    assert split_others(["--cwd", "a b"]) == ["--cwd", "a b"]
    assert split_others(None) == []


@pytest.mark.parametrize(
    ("others", "argument"),
    [
        ("--kernel=ir", "kernel"),
        ("-k ir", "kernel"),
        ("--engine x", "engine"),
        ("--execution-timeout 5", "jupyter_execution_timeout"),
        ("--start-timeout=5", "jupyter_start_timeout"),
        ("-y 'a: 1'", "parameters"),
    ],
)
def test_options_with_an_argument_of_their_own_are_refused(others, argument):
    with pytest.raises(ValueError, match=f"is set through the operator argument '{argument}' instead"):
        split_others(others)


def test_others_of_the_wrong_type_are_refused():
    with pytest.raises(ValueError, match=r"others must be a string or a list of strings, got \[1\]"):
        split_others([1])

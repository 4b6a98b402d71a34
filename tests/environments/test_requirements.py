"""``requirements`` as a DAG author writes them: lines or a file, checked as PEP 508 when the
DAG is parsed, errors naming the line, the file and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.sdk import DAG

from airflow_jupyter_provider.environments.requirements import requirement_lines
from airflow_jupyter_provider.exceptions import InvalidRunError
from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator


def test_lines_are_normalized_without_comments_and_blanks(tmp_path: Path) -> None:
    lines = ["Pandas >= 2", "# the plots", "", "  requests[socks]", 'tomli ; python_version < "3.11"  # old']

    assert requirement_lines(lines, tmp_path) == (
        "pandas>=2",
        "requests[socks]",
        'tomli; python_version < "3.11"',
    )


def test_a_file_is_read_from_the_dags_folder(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("# for the report\nduckdb>=1\n\npolars\n")

    assert requirement_lines("requirements.txt", tmp_path) == ("duckdb>=1", "polars")
    assert requirement_lines(f"file://{tmp_path}/requirements.txt", Path("/")) == ("duckdb>=1", "polars")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (["polars", "duckdb=>1"], "requirements, line 2: 'duckdb=>1' is not a PEP 508 requirement"),
        (["-r more.txt"], "requirements, line 1: '-r more.txt' is an installer option"),
        (["--index-url https://mirror.internal/simple"], "jupyter_conda connection's extras (index_url"),
        ("missing.txt", "cannot read the requirements file 'missing.txt' ({dir}/missing.txt): No such file"),
        (42, "requirements must be a list of requirement lines or the path of a requirements file, got 42"),
        ([1, 2], "got [1, 2]"),
    ],
)
def test_what_no_installer_can_use_is_refused_naming_it(tmp_path: Path, value: object, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        requirement_lines(value, tmp_path)

    assert message.format(dir=tmp_path) in str(refused.value)


def test_a_file_line_is_named_with_the_file(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("polars\n-e .\n")

    with pytest.raises(ValueError, match=r"requirements file 'requirements.txt', line 2: '-e \.'"):
        requirement_lines("requirements.txt", tmp_path)


def operator(requirements: object, folder: Path) -> JupyterCondaOperator:
    with DAG("reqs", schedule=None) as dag:
        dag.fileloc = str(folder / "dag.py")
        return JupyterCondaOperator(
            task_id="nb",
            input_nb="in.ipynb",
            output_nb="out.ipynb",
            conda_env="base",
            requirements=requirements,
        )


def test_the_dag_does_not_parse_with_a_bad_line_or_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidRunError, match="'duckdb=>1' is not a PEP 508 requirement"):
        operator(["duckdb=>1"], tmp_path)
    with pytest.raises(InvalidRunError, match=f"'requirements.txt' \\({tmp_path}/requirements.txt\\)"):
        operator("requirements.txt", tmp_path)


def test_templated_requirements_wait_for_the_run(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("polars\n")

    assert operator("requirements.txt", tmp_path).requirements == "requirements.txt"
    assert operator("{{ params.needs }}.txt", tmp_path).requirements == "{{ params.needs }}.txt"
    assert operator(["polars=={{ params.version }}"], tmp_path).requirements == [
        "polars=={{ params.version }}"
    ]

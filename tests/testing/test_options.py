"""Mistakes in the check's own options are errors, not a check that passes on nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_jupyter_provider.testing import check_dag_folder
from tests.testing.helpers import BROKEN_DAGS


def test_a_dag_folder_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="dag_folder: nothing at"):
        check_dag_folder(tmp_path / "dgas")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("pool,slots\netl,4\n", "pools_file: cannot read '.*' as JSON"),
        ('[{"pool": "etl", "slots": 4}]', r"pools_file: '.*' is not in the format of `airflow pools export`"),
    ],
)
def test_a_pools_file_not_in_the_export_format_is_an_error(
    tmp_path: Path, content: str, message: str
) -> None:
    pools_file = tmp_path / "pools.json"
    pools_file.write_text(content)
    with pytest.raises(ValueError, match=message):
        check_dag_folder(BROKEN_DAGS / "correct.py", pools_file=pools_file)


def test_a_missing_pools_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="pools_file: cannot read"):
        check_dag_folder(BROKEN_DAGS / "correct.py", pools_file=tmp_path / "pools.json")


def test_one_dag_file_can_be_checked_alone() -> None:
    [finding] = check_dag_folder(BROKEN_DAGS / "unknown_parameter.py")
    assert (finding.dag_file, finding.dag_id, finding.check) == (
        "unknown_parameter.py",
        "unknown_parameter",
        "parameters",
    )

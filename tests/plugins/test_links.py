"""The "Output notebook" extra link: the URL of the task instance's Notebook tab in the UI."""

from __future__ import annotations

import pytest

from airflow_jupyter_provider.compat import task_instance_key_class
from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator
from airflow_jupyter_provider.plugins.links import OutputNotebookLink

RUN_ID = "manual__2025-01-01T00:00:00+00:00"


def link(map_index: int = -1) -> str:
    operator = JupyterCondaOperator(
        task_id="forecast", conda_env="env", input_nb="in.ipynb", output_nb="out.ipynb"
    )
    key = task_instance_key_class()(
        dag_id="sales", task_id="forecast", run_id=RUN_ID, try_number=1, map_index=map_index
    )
    (extra_link,) = operator.operator_extra_links
    return extra_link.get_link(operator, ti_key=key)


def test_the_operator_has_the_link() -> None:
    assert [type(extra_link) for extra_link in JupyterCondaOperator.operator_extra_links] == [
        OutputNotebookLink
    ]
    assert OutputNotebookLink().name == "Output notebook"


def test_without_a_base_url_the_link_is_a_path_of_the_ui(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW__API__BASE_URL", raising=False)
    assert link() == (
        "/dags/sales/runs/manual__2025-01-01T00%3A00%3A00%2B00%3A00/tasks/forecast/plugin/jupyter-notebook"
    )


def test_a_mapped_task_instance_links_to_its_own_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW__API__BASE_URL", raising=False)
    assert link(map_index=3).endswith("/tasks/forecast/mapped/3/plugin/jupyter-notebook")


def test_with_a_base_url_the_link_is_absolute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/team-a/")
    assert link().startswith("https://airflow.example.com/team-a/dags/sales/runs/")

"""``output_html`` is checked when the DAG file is parsed, as the other static arguments are."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator


def operator(output_html: Any) -> JupyterCondaOperator:
    with DAG("html", schedule=None):
        return JupyterCondaOperator(
            task_id="nb",
            input_nb="nb.ipynb",
            output_nb="out/nb.ipynb",
            conda_env="jupyter-test",
            output_html=output_html,
        )


@pytest.mark.parametrize(
    "value", [None, 1, "", "   ", "s3://bucket/report.html", ["out.html"], "report.htm", "out/nb.ipynb"]
)
def test_wrong_output_html_is_refused_naming_the_argument_and_the_value(value: Any) -> None:
    with pytest.raises(ValueError) as refused:
        operator(value)

    assert str(refused.value) == (
        "output_html must be True (beside output_nb), False (no HTML) or a local path ending in .html, "
        f"got {value!r}"
    )


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        "report.html",
        "/data/{{ ds }}/report.html",
        "file:///data/report.html",
        "/data/REPORT.HTML",
        "{{ var.value.html }}",
    ],
)
def test_output_html_that_is_accepted(value: Any) -> None:
    assert operator(value).output_html == value

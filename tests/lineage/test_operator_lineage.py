"""What JupyterCondaOperator hands OpenLineage, asked the way the OpenLineage listener asks: through
the provider's ``DefaultExtractor`` (which swallows an error into None), serialized by the
OpenLineage client as a lineage consumer receives it. Runs are real: papermill, the kernel, the
environment cache. The end-to-end test on a running Airflow is ``tests/e2e/test_lineage.py``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from airflow_jupyter_provider.compat import AirflowException
from airflow_jupyter_provider.operators.jupyter_conda import JupyterCondaOperator
from tests.conftest import ENV_CACHE_DIR
from tests.helpers import (
    RUN_ID,
    THRESHOLD_CHECK,
    TYPED_DEFAULTS,
    TYPED_PARAMETERS,
    CondaInstall,
    dag_in,
    render_task,
    run_task,
    write_notebook,
)

extractors = pytest.importorskip("airflow.providers.openlineage.extractors.base")
serde = pytest.importorskip("openlineage.client.serde")


def received(lineage: Any) -> dict[str, Any]:
    """``lineage`` as the JSON of an event carries it: datasets, then run facets by name."""
    assert lineage is not None, "the extractor got no lineage: the operator's method failed (see the log)"
    to_dict = serde.Serde.to_dict
    return {
        "inputs": [to_dict(dataset) for dataset in lineage.inputs],
        "outputs": [to_dict(dataset) for dataset in lineage.outputs],
        "run": {name: to_dict(facet) for name, facet in lineage.run_facets.items()},
    }


def facet(facet_name: str, **fields: Any) -> dict[str, Any]:
    producer = serde.Serde.to_dict(extractors.RunFacet())["_producer"]
    return {
        "_producer": producer,
        "_schemaURL": f"urn:airflow-jupyter-provider:facet:{facet_name}:1",
        **fields,
    }


def file_dataset(path: Path) -> dict[str, Any]:
    return {"namespace": "file", "name": str(path), "facets": {}}


def test_on_start_names_the_notebooks_from_the_dag_folder_the_environment_and_the_typed_parameters(
    conda_connection: CondaInstall, tmp_path: Path
) -> None:
    dags = tmp_path / "dags"
    op = JupyterCondaOperator(
        task_id="forecast",
        input_nb="notebooks/forecast.ipynb",
        output_nb=str(tmp_path / "out" / "{{ run_id }}" / "forecast.ipynb"),
        conda_env=conda_connection.env_name,
        parameters="{{ params | tojson }}",
        dag=dag_in(dags, "lineage", params=TYPED_PARAMETERS),
    )
    render_task(op)

    lineage = received(extractors.DefaultExtractor(op).extract())

    assert lineage == {
        "inputs": [{**file_dataset(dags / "notebooks" / "forecast.ipynb"), "inputFacets": {}}],
        "outputs": [{**file_dataset(tmp_path / "out" / RUN_ID / "forecast.ipynb"), "outputFacets": {}}],
        "run": {
            "jupyterCondaEnvironment": facet("jupyterCondaEnvironment", kind="name", name="jupyter-test"),
            "jupyterNotebookParameters": facet(
                "jupyterNotebookParameters", parameters=json.dumps(TYPED_PARAMETERS, sort_keys=True)
            ),
        },
    }
    # Text, so the nulls OpenLineage's serialization drops from objects and lists survive.
    parameters = json.loads(lineage["run"]["jupyterNotebookParameters"]["parameters"])
    assert parameters == TYPED_PARAMETERS and parameters["a_none"] is None


def test_notebooks_in_object_storage_and_a_packed_environment_behind_a_url(tmp_path: Path) -> None:
    op = JupyterCondaOperator(
        task_id="report",
        input_nb="s3://notebooks/reports/weekly.ipynb",
        output_nb="s3://results/reports/{{ run_id }}/weekly.ipynb",
        notebook_conn_id="aws_default",
        conda_env="https://builder:s3cret@envs.example.com/jupyter/env.tar.gz?token=abc",
        conda_env_sha256="AB" * 32,
        dag=dag_in(tmp_path, "lineage_storage"),
    )
    render_task(op)

    lineage = received(extractors.DefaultExtractor(op).extract())

    assert lineage["inputs"] == [
        {"namespace": "s3://notebooks", "name": "reports/weekly.ipynb", "facets": {}, "inputFacets": {}}
    ]
    assert lineage["outputs"] == [
        {
            "namespace": "s3://results",
            "name": f"reports/{RUN_ID}/weekly.ipynb",
            "facets": {},
            "outputFacets": {},
        }
    ]
    # Before the run: the archive as the task names it (no credentials, no query) and its pin.
    assert lineage["run"]["jupyterCondaEnvironment"] == facet(
        "jupyterCondaEnvironment",
        kind="archive",
        archive="https://envs.example.com/jupyter/env.tar.gz",
        sha256="ab" * 32,
    )
    assert "s3cret" not in json.dumps(lineage) and "token" not in json.dumps(lineage)


def test_on_complete_a_packed_environment_shows_its_sha256_and_the_folder_it_was_unpacked_into(
    packed_env: Path, tmp_path: Path
) -> None:
    notebook = write_notebook(tmp_path / "typed.ipynb", TYPED_DEFAULTS, "print(an_int)")
    op = JupyterCondaOperator(
        task_id="packed",
        input_nb=notebook.name,
        output_nb="out/typed.ipynb",
        conda_env=str(packed_env),
        parameters=TYPED_PARAMETERS,
        dag=dag_in(tmp_path, "lineage_packed"),
    )
    extractor = extractors.DefaultExtractor(op)
    render_task(op)
    started = received(extractor.extract())

    run_task(op)
    completed = received(extractor.extract_on_complete(None))

    sha256 = hashlib.sha256(packed_env.read_bytes()).hexdigest()
    environment = completed["run"]["jupyterCondaEnvironment"]
    assert environment == facet(
        "jupyterCondaEnvironment",
        kind="archive",
        archive=str(packed_env),
        sha256=sha256,
        folder=str(Path(ENV_CACHE_DIR) / sha256[:16]),
    )
    assert (Path(environment["folder"]) / "conda-meta").is_dir()
    # Before the run, nothing of the archive was known yet.
    assert started["run"]["jupyterCondaEnvironment"] == facet(
        "jupyterCondaEnvironment", kind="archive", archive=str(packed_env)
    )
    assert completed["outputs"] == [{**file_dataset(tmp_path / "out" / "typed.ipynb"), "outputFacets": {}}]
    assert "jupyterFailedCell" not in completed["run"]


def test_on_failure_the_failed_cell_is_a_facet_and_the_partial_output_notebook_the_output(
    conda_connection: CondaInstall, tmp_path: Path
) -> None:
    notebook = write_notebook(
        tmp_path / "failing.ipynb",
        "threshold = 0",
        "print('before the failure')",
        THRESHOLD_CHECK,
    )
    output = tmp_path / "out" / "failing.ipynb"
    op = JupyterCondaOperator(
        task_id="failing",
        input_nb=str(notebook),
        output_nb=str(output),
        conda_env=conda_connection.env_name,
        parameters={"threshold": 42},
        dag=dag_in(tmp_path, "lineage_failure"),
    )

    with pytest.raises(AirflowException):
        run_task(op)
    failed = received(extractors.DefaultExtractor(op).extract_on_failure(None))

    cell = failed["run"]["jupyterFailedCell"]
    assert {key: cell[key] for key in ("executionCount", "source", "errorName", "errorValue")} == {
        "executionCount": 4,
        "source": "# check the threshold\nraise ValueError(f'threshold {threshold} is too high')",
        "errorName": "ValueError",
        "errorValue": "threshold 42 is too high",
    }
    assert cell["traceback"][-1] == "ValueError: threshold 42 is too high"
    assert failed["outputs"] == [{**file_dataset(output), "outputFacets": {}}]
    assert output.is_file()
    assert failed["run"]["jupyterCondaEnvironment"] == facet(
        "jupyterCondaEnvironment", kind="name", name="jupyter-test"
    )


def test_a_forbidden_task_reports_no_notebook_read_or_written(tmp_path: Path) -> None:
    op = JupyterCondaOperator(
        task_id="forbidden",
        input_nb="in.ipynb",
        output_nb="out.ipynb",
        conda_env="analysis",
        run_flag="FORBIDDEN",
        dag=dag_in(tmp_path, "lineage_forbidden"),
    )
    extractor = extractors.DefaultExtractor(op)

    for lineage in (extractor.extract(), extractor.extract_on_complete(None)):
        assert received(lineage) == {"inputs": [], "outputs": [], "run": {}}

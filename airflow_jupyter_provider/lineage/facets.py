"""A run's lineage as the OpenLineage provider takes it: the input notebook read, the output
notebook written, and three run facets of this provider's own. Imported only when the
OpenLineage listener asks the operator (so only where the provider is installed).

Run facets, each with ``_schemaURL`` ``urn:airflow-jupyter-provider:facet:<facet name>:1``:

- ``jupyterCondaEnvironment``: ``kind`` (``name``, ``folder`` or ``archive``) and what names the
  environment; for an archive its ``sha256`` (the pin before the run, the archive's after) and
  the ``folder`` it was unpacked into (a URL's credentials, query and fragment left out, as
  from the notebooks' names);
- ``jupyterNotebookParameters``: ``parameters``, the values papermill injects as the JSON text of
  an object (text, because OpenLineage's serialization drops every null it meets: a parameter
  set to None, a None inside a list);
- ``jupyterFailedCell``, once a cell has failed: its ``executionCount``, ``source``,
  ``errorName``, ``errorValue`` and ``traceback`` lines.

Parameters are sent as they are: secrets belong in connections or Variables the notebook reads.
"""

from __future__ import annotations

import json
from typing import Any

from airflow.providers.common.compat.openlineage.facet import InputDataset, OutputDataset, RunFacet
from airflow.providers.openlineage.extractors import OperatorLineage
from attrs import define

from airflow_jupyter_provider.lineage.naming import dataset_name, public_location
from airflow_jupyter_provider.lineage.report import RunReport

SCHEMA_URL = "urn:airflow-jupyter-provider:facet:{}:1"


@define
class JupyterCondaEnvironmentRunFacet(RunFacet):
    """The conda environment the notebook runs in."""

    kind: str
    name: str | None = None
    folder: str | None = None
    archive: str | None = None
    sha256: str | None = None

    @staticmethod
    def _get_schema() -> str:
        return SCHEMA_URL.format("jupyterCondaEnvironment")


@define
class JupyterNotebookParametersRunFacet(RunFacet):
    """The parameters injected into the notebook, as JSON text."""

    parameters: str

    @staticmethod
    def _get_schema() -> str:
        return SCHEMA_URL.format("jupyterNotebookParameters")


@define
class JupyterFailedCellRunFacet(RunFacet):
    """The cell that raised, as the output notebook shows it."""

    # OpenLineage facets name their fields in camelCase.
    executionCount: int | None
    source: str
    errorName: str
    errorValue: str
    traceback: list[str]

    @staticmethod
    def _get_schema() -> str:
        return SCHEMA_URL.format("jupyterFailedCell")


def operator_lineage(report: RunReport | None) -> OperatorLineage:
    """The ``OperatorLineage`` the operator hands the OpenLineage listener for ``report``; an
    empty one for None (a task that runs no notebook)."""
    if report is None:
        return OperatorLineage()
    environment = report.environment
    run_facets: dict[str, Any] = {
        "jupyterCondaEnvironment": JupyterCondaEnvironmentRunFacet(
            kind=environment.kind,
            name=environment.name,
            folder=environment.folder,
            archive=environment.archive and public_location(environment.archive),
            sha256=environment.sha256,
        ),
        "jupyterNotebookParameters": JupyterNotebookParametersRunFacet(
            parameters=json.dumps(report.parameters, sort_keys=True)
        ),
    }
    if (failed := report.failed_cell) is not None:
        run_facets["jupyterFailedCell"] = JupyterFailedCellRunFacet(
            executionCount=failed.execution_count,
            source=failed.source,
            errorName=failed.ename,
            errorValue=failed.evalue,
            traceback=list(failed.traceback),
        )
    return OperatorLineage(
        inputs=[InputDataset(*dataset_name(report.input_nb))],
        outputs=[OutputDataset(*dataset_name(report.output_nb))],
        run_facets=run_facets,
    )

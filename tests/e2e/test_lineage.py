"""What a lineage consumer receives from the operator, on a real Airflow (LocalExecutor) whose
OpenLineage provider writes its events to a file (``e2e_dags_stack``, ``openlineage_events``).

The DAG (``dags/jupyter_conda_lineage.py``) runs two tasks at once: ``report`` succeeds in the
demo's packed environment with parameters of each JSON type, ``fails_in_a_cell`` fails in a
known cell in the demo's named environment ``jupyter-demo``. Each task's events name the input
and output notebooks as datasets and carry the provider's run facets; the events are read as a
consumer reads them, from the JSON the OpenLineage client wrote.

The tasks run as in a deployment: queued by the scheduler, run by LocalExecutor in supervised
task processes. The provider's listener emits a task's events from a fork of the task's
process, possibly after the task instance has its final state: the test waits for them to be
in the file.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devtools.stack import AirflowStack
from tests.e2e.helpers import E2E_DAGS, OPENLINEAGE_NAMESPACE, DemoFolder

pytestmark = pytest.mark.e2e

DAG_ID = "jupyter_conda_lineage"
REPORT = "report"
FAILING = "fails_in_a_cell"
NOTEBOOKS = E2E_DAGS / "notebooks"
#: The report task's parameters as the DAG gives them, ``comment``'s None included: the facet
#: carries them as JSON text, which the OpenLineage client's dropping of nulls cannot reach.
REPORT_PARAMETERS = {
    "days": 3,
    "growth_rate": 0.25,
    "region": "north",
    "products": ["apples", "pears"],
    "dry_run": False,
    "limits": {"max_rows": 10},
    "comment": None,
}
#: The cell of ``notebooks/lineage_fails.ipynb`` that raises: the fourth cell run, after the
#: parameters cell, papermill's injected parameters and the cell loading the readings.
FAILED_CELL_SOURCE = 'raise LookupError(f"no readings for region {region}")'
FACET_SCHEMA = "urn:airflow-jupyter-provider:facet:{}:1"
#: Seconds the events may take to reach the file once the run has ended.
EVENTS_TIMEOUT = 60


@dataclass(frozen=True)
class LineageRun:
    run_id: str
    #: (task id, event type) -> the one event of that type the task's run emitted
    events: dict[tuple[str, str], dict[str, Any]]

    def event(self, task_id: str, event_type: str) -> dict[str, Any]:
        return self.events[(task_id, event_type)]


def written_events(path: Path) -> list[dict[str, Any]]:
    """The events in the file, one JSON object a line; a line still being written is left out."""
    if not path.exists():
        return []
    text = path.read_text()
    return [json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines() if line.strip()]


def task_events(path: Path, run_id: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The task events of the DAG run ``run_id`` of DAG_ID, by (task id, event type)."""
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for event in written_events(path):
        dag_run = event["run"]["facets"].get("airflow", {}).get("dagRun", {})
        dag_id, _, task_id = event["job"]["name"].partition(".")
        if dag_id == DAG_ID and task_id and dag_run.get("run_id") == run_id:
            found.setdefault((task_id, event["eventType"]), []).append(event)
    return found


@pytest.fixture(scope="module")
def lineage_run(e2e_dags_stack: AirflowStack, openlineage_events: Path) -> LineageRun:
    """A run of the DAG, ended (failed, as one task fails), with its task events in the file."""
    stack = e2e_dags_stack
    run_id = stack.trigger(DAG_ID)
    assert stack.wait_for_run(DAG_ID, run_id, timeout=300) == "failed", stack.describe_run(DAG_ID, run_id)
    states = {ti["task_id"]: ti["state"] for ti in stack.task_instances(DAG_ID, run_id)}
    assert states == {REPORT: "success", FAILING: "failed"}, stack.describe_run(DAG_ID, run_id)
    expected = {(REPORT, "START"), (REPORT, "COMPLETE"), (FAILING, "START"), (FAILING, "FAIL")}
    deadline = time.monotonic() + EVENTS_TIMEOUT
    while not expected <= (found := task_events(openlineage_events, run_id)).keys():
        if time.monotonic() > deadline:
            pytest.fail(
                f"OpenLineage task events of run {run_id} after {EVENTS_TIMEOUT} s: {sorted(found)}, "
                f"expected {sorted(expected)}; events file {openlineage_events} "
                f"({'exists' if openlineage_events.exists() else 'missing'}).\n"
                + stack.describe_run(DAG_ID, run_id)
            )
        time.sleep(0.5)
    assert {key: len(events) for key, events in found.items()} == dict.fromkeys(expected, 1)
    return LineageRun(run_id, {key: events[0] for key, events in found.items()})


def datasets(event: dict[str, Any], kind: str) -> list[tuple[str, str]]:
    """The (namespace, name) of each of the event's ``inputs`` or ``outputs``."""
    return [(dataset["namespace"], dataset["name"]) for dataset in event[kind]]


def facet(event: dict[str, Any], name: str) -> dict[str, Any]:
    """One of the provider's run facets, without the ``_producer`` and ``_schemaURL`` every
    facet has (the schema URL checked here)."""
    value = dict(event["run"]["facets"][name])
    assert value.pop("_schemaURL") == FACET_SCHEMA.format(name)
    value.pop("_producer")
    return value


def output_notebook(demo_folder: DemoFolder, run_id: str, name: str) -> Path:
    """Where the DAG's ``output_nb`` template puts the task's notebook."""
    return demo_folder.output / DAG_ID / run_id / name


def provider_facets(event: dict[str, Any]) -> set[str]:
    """The names of the event's run facets that this provider adds (Airflow's have other names)."""
    return {name for name in event["run"]["facets"] if name.startswith("jupyter")}


def as_json(value: Any) -> str:
    """``value`` as JSON text: equal only if the types are too (``3`` is not ``3.0``, ``False``
    not ``0``, as they are for ``==``)."""
    return json.dumps(value, sort_keys=True)


def test_the_successful_task_reads_its_input_notebook_and_writes_its_output_notebook(
    lineage_run: LineageRun, demo_folder: DemoFolder
) -> None:
    output = output_notebook(demo_folder, lineage_run.run_id, "lineage_report.ipynb")
    assert output.is_file()
    for event_type in ("START", "COMPLETE"):
        event = lineage_run.event(REPORT, event_type)
        assert event["job"]["namespace"] == OPENLINEAGE_NAMESPACE
        assert event["job"]["name"] == f"{DAG_ID}.{REPORT}"
        # input_nb is relative: from the DAG file's folder.
        assert datasets(event, "inputs") == [("file", str(NOTEBOOKS / "lineage_report.ipynb"))], event_type
        assert datasets(event, "outputs") == [("file", str(output))], event_type


def test_the_successful_task_reports_its_environment_and_parameters_and_no_failed_cell(
    lineage_run: LineageRun,
) -> None:
    for event_type in ("START", "COMPLETE"):
        event = lineage_run.event(REPORT, event_type)
        assert provider_facets(event) == {"jupyterCondaEnvironment", "jupyterNotebookParameters"}, event_type


def test_the_successful_task_reports_its_parameters_with_their_json_types(lineage_run: LineageRun) -> None:
    for event_type in ("START", "COMPLETE"):
        text = facet(lineage_run.event(REPORT, event_type), "jupyterNotebookParameters")["parameters"]
        assert as_json(json.loads(text)) == as_json(REPORT_PARAMETERS), event_type


def test_the_successful_task_reports_the_archive_and_after_the_run_its_sha256_and_folder(
    lineage_run: LineageRun, demo_folder: DemoFolder
) -> None:
    archive = demo_folder.conda.archive
    # Before the run the archive is only named (the task pins no sha256)...
    assert facet(lineage_run.event(REPORT, "START"), "jupyterCondaEnvironment") == {
        "kind": "archive",
        "archive": str(archive),
    }
    # ...after it, the run tells what it unpacked and where.
    environment = facet(lineage_run.event(REPORT, "COMPLETE"), "jupyterCondaEnvironment")
    folder = Path(environment.pop("folder"))
    assert environment == {
        "kind": "archive",
        "archive": str(archive),
        "sha256": hashlib.sha256(archive.read_bytes()).hexdigest(),
    }
    # The connection's env_cache_dir (devtools.demo.airflow_settings) holds the unpacked prefix.
    assert folder.parent == demo_folder.path / "envs"
    assert (folder / "conda-meta").is_dir()


def test_the_failing_task_reports_the_cell_that_raised_and_the_output_notebook_it_kept(
    lineage_run: LineageRun, demo_folder: DemoFolder
) -> None:
    event = lineage_run.event(FAILING, "FAIL")
    output = output_notebook(demo_folder, lineage_run.run_id, "lineage_fails.ipynb")
    assert output.is_file()
    assert event["job"]["name"] == f"{DAG_ID}.{FAILING}"
    assert datasets(event, "inputs") == [("file", str(NOTEBOOKS / "lineage_fails.ipynb"))]
    assert datasets(event, "outputs") == [("file", str(output))]

    failed = facet(event, "jupyterFailedCell")
    traceback = failed.pop("traceback")
    assert failed == {
        "executionCount": 4,
        "source": FAILED_CELL_SOURCE,
        "errorName": "LookupError",
        "errorValue": "no readings for region south",
    }
    assert isinstance(traceback, list)
    assert all(isinstance(line, str) for line in traceback)
    assert traceback[-1] == "LookupError: no readings for region south"
    assert any(FAILED_CELL_SOURCE in line for line in traceback)

    assert facet(event, "jupyterCondaEnvironment") == {"kind": "name", "name": "jupyter-demo"}
    assert facet(event, "jupyterNotebookParameters") == {"parameters": '{"region": "south"}'}


def test_the_failing_task_started_with_its_notebooks_and_no_failed_cell_yet(
    lineage_run: LineageRun, demo_folder: DemoFolder
) -> None:
    event = lineage_run.event(FAILING, "START")
    output = output_notebook(demo_folder, lineage_run.run_id, "lineage_fails.ipynb")
    assert datasets(event, "inputs") == [("file", str(NOTEBOOKS / "lineage_fails.ipynb"))]
    assert datasets(event, "outputs") == [("file", str(output))]
    assert provider_facets(event) == {"jupyterCondaEnvironment", "jupyterNotebookParameters"}
    assert facet(event, "jupyterCondaEnvironment") == {"kind": "name", "name": "jupyter-demo"}

"""The stamp that ties an output notebook to the task instance that ran it.

The worker stamps the notebook it gives papermill (papermill keeps notebook metadata), and
records where the output goes in XCom (``plugins.NOTEBOOK_XCOM_KEY``). XComs can be written
through the REST API, so the API server's Notebook tab trusts the record only as far as the
notebook it names carries the stamp of the task instance being viewed: a record pointing at
another task instance's notebook shows nothing.

Both sides import this module: it imports nothing but the standard library.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: ``notebook.metadata[METADATA_KEY]["task_instance"]`` holds the stamp.
METADATA_KEY = "airflow_jupyter_provider"
#: The fields of a task instance's identity, in the stamp and in the record's checks.
IDENTITY = ("dag_id", "run_id", "task_id", "map_index")


def task_instance_identity(dag_id: str, run_id: str, task_id: str, map_index: int) -> dict[str, Any]:
    """The stamp's value for one task instance."""
    return {"dag_id": dag_id, "run_id": run_id, "task_id": task_id, "map_index": map_index}


def stamp(notebook: Any, identity: Mapping[str, Any]) -> None:
    """Write ``identity`` into ``notebook``'s metadata (an nbformat notebook or its JSON dict)."""
    notebook["metadata"].setdefault(METADATA_KEY, {})["task_instance"] = {
        key: identity[key] for key in IDENTITY
    }


def stamped_identity(notebook: Any) -> dict[str, Any] | None:
    """The task instance ``notebook`` was stamped with, or None for a notebook without a stamp."""
    found = notebook.get("metadata", {}).get(METADATA_KEY, {})
    identity = found.get("task_instance") if isinstance(found, Mapping) else None
    if not isinstance(identity, Mapping) or set(identity) != set(IDENTITY):
        return None
    return dict(identity)

"""The "Output notebook" extra link: the task instance's Notebook tab in the Airflow UI."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import BaseOperatorLink

from airflow_jupyter_provider.plugins import VIEW_ROUTE, base_url, task_instance_path

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey


class OutputNotebookLink(BaseOperatorLink):
    """Computed by the worker when the task ends and kept in XCom, as Airflow 3 does with every link.

    Without ``[api] base_url`` the link is a path on the UI's own origin, which the UI opens in place.
    """

    name = "Output notebook"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        page = task_instance_path(ti_key.dag_id, ti_key.run_id, ti_key.task_id, ti_key.map_index)
        return f"{base_url()}{page}/plugin/{VIEW_ROUTE}"

"""With the KubernetesExecutor, the run's limits become the pod's resource limits.

The executor runs each task in a pod of its own, whose container limits the kernel enforces
for the whole pod; ``executor_config["pod_override"]`` is how a task sets them. The kubernetes
client is imported only to build that override, so DAG files that never need it do not pay
for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from airflow_jupyter_provider.compat import airflow_conf
from airflow_jupyter_provider.limits.values import Limit

KUBERNETES_EXECUTOR = "KubernetesExecutor"
#: The container the KubernetesExecutor runs the task in.
BASE_CONTAINER = "base"

#: limit argument -> its pod resource name and quantity (50% of a core is 500 millicores).
POD_RESOURCES: dict[str, Callable[[int], tuple[str, str]]] = {
    "cpu_quota": lambda percent: ("cpu", f"{percent * 10}m"),
    "max_memory": lambda megabytes: ("memory", f"{megabytes}Mi"),
}


def pod_resource(limit: Limit) -> tuple[str, str]:
    """The pod resource and quantity of ``limit``: ``("cpu", "500m")`` for cpu_quota=50."""
    return POD_RESOURCES[limit.argument](limit.value)


def pod_resource_limits(limits: Sequence[Limit]) -> dict[str, str]:
    """``{"cpu": "500m", "memory": "512Mi"}`` for cpu_quota=50, max_memory=512."""
    return dict(map(pod_resource, limits))


def _executor_class(entry: str) -> str:
    """The class name of an ``[core] executor`` entry: ``NAME``, ``module.path.NAME`` or ``alias:...``."""
    return entry.rpartition(":")[2].rpartition(".")[2]


def runs_on_kubernetes(task_executor: str | None) -> bool:
    """Whether the task runs on the KubernetesExecutor: its own ``executor``, else the default one.

    A task's ``executor`` may name an ``[core] executor`` entry by alias, by name or by path.
    """
    conf = airflow_conf()

    entries = [
        entry.strip() for entry in conf.get("core", "executor", fallback="").split(",") if entry.strip()
    ]
    if task_executor is None:
        return bool(entries) and _executor_class(entries[0]) == KUBERNETES_EXECUTOR
    named = [entry for entry in entries if task_executor in (entry, *entry.split(":", 1))] or [task_executor]
    return any(_executor_class(entry) == KUBERNETES_EXECUTOR for entry in named)


def pod_enforces(limits: Sequence[Limit], operator_arguments: dict[str, Any]) -> bool:
    """Whether the task's pod enforces ``limits``: on the KubernetesExecutor, unless the task has
    an ``executor_config`` of its own (left as it is)."""
    return (
        bool(limits)
        and "executor_config" not in operator_arguments
        and runs_on_kubernetes(operator_arguments.get("executor"))
    )


def pod_carries(limits: Sequence[Limit], operator_arguments: dict[str, Any]) -> bool:
    """Whether the ``executor_config`` among ``operator_arguments`` (a mapped task's, made by
    ``partial()``) sets exactly ``limits`` as the pod's resource limits."""
    if not limits or not runs_on_kubernetes(operator_arguments.get("executor")):
        return False
    return operator_arguments.get("executor_config") == executor_config(limits)


def executor_config(limits: Sequence[Limit]) -> dict[str, Any]:
    """An ``executor_config`` whose pod override sets the task container's resource limits."""
    from kubernetes.client import models as k8s

    resources = k8s.V1ResourceRequirements(limits=pod_resource_limits(limits))
    container = k8s.V1Container(name=BASE_CONTAINER, resources=resources)
    return {"pod_override": k8s.V1Pod(spec=k8s.V1PodSpec(containers=[container]))}

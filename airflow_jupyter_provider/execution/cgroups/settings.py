"""The ``[jupyter_conda]`` options that say where run groups go and what to do without them.

Declared, with their defaults, in ``get_provider_info()["config"]``; read on the worker when
a run with limits starts, so a changed ``airflow.cfg`` or ``AIRFLOW__JUPYTER_CONDA__*``
variable applies to the next run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from airflow_jupyter_provider import (
    CONFIG_SECTION,
    DEFAULT_CGROUP_MOUNT,
    DEFAULT_CGROUP_PARENT,
    DEFAULT_UNENFORCEABLE_LIMITS,
)
from airflow_jupyter_provider.compat import airflow_conf

#: unenforceable_limits values: fail the task (a limit is never dropped silently), or warn and run.
UNENFORCEABLE_POLICIES = ("fail", "warn")


class SettingError(ValueError):
    """An ``[jupyter_conda]`` option has a value this provider cannot use."""


@dataclass(frozen=True)
class CgroupSettings:
    """Where cgroup file systems are mounted, the group runs go under, and the fallback policy."""

    mount: Path
    #: a cgroup path inside each hierarchy (``/jupyter-conda``); empty: the worker's own cgroup
    parent: str
    unenforceable_limits: str

    @classmethod
    def from_airflow_config(cls) -> CgroupSettings:
        conf = airflow_conf()

        policy = conf.get(CONFIG_SECTION, "unenforceable_limits", fallback=DEFAULT_UNENFORCEABLE_LIMITS)
        if policy.strip().lower() not in UNENFORCEABLE_POLICIES:
            raise SettingError(
                f"[{CONFIG_SECTION}] unenforceable_limits = {policy!r} is not one of "
                f"{', '.join(UNENFORCEABLE_POLICIES)}"
            )
        parent = conf.get(CONFIG_SECTION, "cgroup_parent", fallback=DEFAULT_CGROUP_PARENT).strip()
        if parent and not parent.startswith("/"):
            raise SettingError(
                f"[{CONFIG_SECTION}] cgroup_parent = {parent!r} must be a cgroup path starting with '/' "
                "(as /proc/self/cgroup shows them), or empty for the worker's own cgroup"
            )
        return cls(
            mount=Path(conf.get(CONFIG_SECTION, "cgroup_mount", fallback=DEFAULT_CGROUP_MOUNT)),
            parent=parent,
            unenforceable_limits=policy.strip().lower(),
        )

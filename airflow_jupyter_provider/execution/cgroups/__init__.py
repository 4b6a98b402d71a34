"""Linux cgroups for notebook runs: one group per run (per hierarchy on cgroup v1), enforcing
``cpu_quota`` and ``max_memory`` on every process of the run, counting what it used, and
holding every pid of it, daemons included, until the run is over and the group removed.

The run's shell joins the groups before it does anything else (``run_notebook.sh --cgroup``),
so conda's activation, papermill and the kernel all start inside them.
"""

from airflow_jupyter_provider.execution.cgroups.group import RunGroup
from airflow_jupyter_provider.execution.cgroups.registry import LimitsUnavailable, enforce_limits
from airflow_jupyter_provider.execution.cgroups.settings import CgroupSettings, SettingError

__all__ = ["CgroupSettings", "LimitsUnavailable", "RunGroup", "SettingError", "enforce_limits"]

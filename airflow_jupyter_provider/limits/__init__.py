"""Resource limits of a run: the values (``values.py``, validated at DAG parse time) and their
enforcement on the worker through Linux cgroups: one group per run (per hierarchy on cgroup v1),
enforcing ``cpu_quota`` and ``max_memory`` on every process of the run, counting what it used,
and holding every pid of it, daemons included, until the run is over and the group removed.

``enforce.py`` tries cgroup v2 (``v2.py``) then v1 (``v1.py``); both write a limit through
``Created.apply`` (``group.py``). The run's shell joins the groups before it does anything else
(``run_notebook.sh --cgroup``), so conda's activation, papermill and the kernel all start inside
them. Before a run makes its groups, ``sweep.py`` removes those of earlier runs whose task
process is gone. Importing this package is cheap: the operator imports the values at DAG parse time.
``check.py`` is the command that checks a worker the same way (``python -m ...limits.check``).
"""

from airflow_jupyter_provider.limits.values import Limit, requested_limits

__all__ = ["Limit", "requested_limits"]

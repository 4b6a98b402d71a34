"""The notebook's environment: the worker's, less Airflow's own configuration and secrets, plus
what the task gives it (the operator's ``env``).

A notebook is the least trusted code on a worker. The worker's ``AIRFLOW__*`` variables hold its
configuration (the metadata database's URL, the fernet and JWT keys, the broker), the
``AIRFLOW_CONN_*`` and ``AIRFLOW_VAR_*`` ones connections and Variables, and Airflow's internal
``_AIRFLOW_*`` / ``__AIRFLOW_*`` ones the task's start-up message and the supervisor's socket:
none of them reaches the notebook unless an administrator keeps a name (the ``[jupyter_conda]
notebook_env_keep`` setting) or the task sets it in ``env``. ``AIRFLOW_CTX_*``, the task's
documented context (DAG, task, run, try), stays.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any

#: Worker variables the notebook does not get: Airflow's configuration, connections, Variables
#: and internal variables.
LEFT_OUT = ("AIRFLOW__*", "AIRFLOW_CONN_*", "AIRFLOW_VAR_*", "_AIRFLOW_*", "__AIRFLOW_*")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def is_left_out(name: str, keep: Iterable[str] = ()) -> bool:
    """Whether the worker's variable ``name`` stays out of the notebook's environment: it matches
    one of ``LEFT_OUT`` and none of the names or patterns (``fnmatch``) an administrator keeps."""
    return any(fnmatchcase(name, pattern) for pattern in LEFT_OUT) and not any(
        fnmatchcase(name, pattern) for pattern in keep
    )


def check_env(argument: str, value: Any) -> dict[str, str]:
    """The operator's ``env`` as the notebook gets it: variable names to text.

    A number becomes its text. The message for a wrong value names the variable and the value's
    type, never the value: it may be a secret.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(
            f"{argument} must be a dict of variable names to values, got a {type(value).__name__}"
        )
    env = {}
    for name, entry in value.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(
                f"{argument}: {name!r} is not a valid environment variable name "
                "(letters, digits and '_', not starting with a digit)"
            )
        if isinstance(entry, bool) or not isinstance(entry, str | int | float):
            raise ValueError(f"{argument}[{name!r}] must be text or a number, got a {type(entry).__name__}")
        env[name] = str(entry)
    return env


def notebook_env(
    worker: Mapping[str, str], task: Mapping[str, str], keep: Iterable[str] = ()
) -> dict[str, str]:
    """The environment the run's processes start with: ``worker``'s variables less those left
    out, then the task's ``env``, which wins (an author who sets a left-out name means it)."""
    keep = tuple(keep)
    kept = {name: value for name, value in worker.items() if not is_left_out(name, keep)}
    return {**kept, **task}

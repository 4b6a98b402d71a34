"""Resolving ``conda_env`` (a named environment, an environment prefix, or a packed archive) and
activating it: ``kinds.py`` says which kind a value names (archives by ``formats.py``'s suffixes)
and gives its :class:`Activation`;
packed archives come from ``sources.py``, are checked (``checksums.py``), unpacked safely and
made relocatable (``archive.py``) once per worker into ``cache.py``, whose in-use and unpack
locks are ``locks.py``'s."""

from airflow_jupyter_provider.environments.formats import ARCHIVE_FORMATS
from airflow_jupyter_provider.environments.kinds import (
    Activation,
    Environment,
    EnvironmentFacts,
    ResolveOptions,
    check_environment,
    resolve_environment,
)
from airflow_jupyter_provider.exceptions import CondaEnvError

__all__ = [
    "ARCHIVE_FORMATS",
    "Activation",
    "CondaEnvError",
    "Environment",
    "EnvironmentFacts",
    "ResolveOptions",
    "check_environment",
    "resolve_environment",
]

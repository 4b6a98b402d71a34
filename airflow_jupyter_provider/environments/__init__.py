"""Resolving ``conda_env``: a named environment, an environment prefix, or a packed archive."""

from airflow_jupyter_provider.environments.archive import ARCHIVE_FORMATS
from airflow_jupyter_provider.environments.kinds import (
    CondaEnvError,
    Environment,
    ResolveOptions,
    resolve_environment,
)

__all__ = ["ARCHIVE_FORMATS", "CondaEnvError", "Environment", "ResolveOptions", "resolve_environment"]

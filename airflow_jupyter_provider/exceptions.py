"""The provider's errors: one hierarchy, each error saying once, where it is raised, whether a
retry of the task may help.

The hook turns them into Airflow's exceptions in one place (:func:`to_airflow`): a retryable
error becomes ``AirflowException`` (Airflow retries the task), any other
``AirflowFailException`` (it fails at once).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_jupyter_provider.compat import AirflowException


class JupyterCondaError(Exception):
    """Something this provider cannot do; ``retryable`` says whether trying again may help."""

    retryable = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable


class InvalidRunError(JupyterCondaError, ValueError):
    """A task argument has a value no run can use (a ValueError too: DAG parsing shows it)."""


class SettingError(JupyterCondaError, ValueError):
    """A ``[jupyter_conda]`` option has a value this provider cannot use."""


class CondaEnvError(JupyterCondaError):
    """``conda_env`` cannot be used."""


class SourceError(JupyterCondaError):
    """The archive cannot be read from its source (a missing file may appear: retryable)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message, retryable=retryable)


class ArchiveError(JupyterCondaError):
    """The archive cannot be unpacked into a conda environment."""


class ChecksumMismatchError(ArchiveError):
    """The archive's sha256 is not the one ``conda_env_sha256`` expects; retrying cannot help."""


class CacheDirError(JupyterCondaError):
    """The cache folder cannot be used safely."""


class LimitsUnavailable(JupyterCondaError):
    """A limit cannot be enforced on this worker and the settings say to fail."""


class RunFailed(JupyterCondaError):
    """The run did not succeed; the message says why and what to do."""


def to_airflow(err: JupyterCondaError) -> AirflowException:
    """The Airflow exception for ``err``: retried by Airflow only if ``err`` is retryable.

    Airflow is imported here only: the environment cache and the limits use this module in
    processes that need no Airflow.
    """
    from airflow_jupyter_provider.compat import AirflowException, AirflowFailException

    return (AirflowException if err.retryable else AirflowFailException)(str(err))

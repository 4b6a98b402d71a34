"""The three kinds of ``conda_env`` value and how each one is activated.

Each kind turns into the first arguments of ``execution/run_notebook.sh``; the kinds are
tried in the order of :data:`KINDS`, the first whose ``matches`` accepts the value wins.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass
from logging import Logger
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from airflow_jupyter_provider.environments.archive import ARCHIVE_FORMATS, archive_format
from airflow_jupyter_provider.locations import is_local, local_path

if TYPE_CHECKING:
    from airflow_jupyter_provider.environments.cache import EnvironmentCache
    from airflow_jupyter_provider.environments.sources import ArchiveSource


class CondaEnvError(Exception):
    """``conda_env`` cannot be used; ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class Worker(Protocol):
    """What the worker offers for activating environments (the hook is one)."""

    @property
    def conda_path(self) -> str: ...

    @property
    def env_cache(self) -> EnvironmentCache: ...

    @property
    def log(self) -> Logger: ...


class Environment(Protocol):
    def activation_args(self, stack: ExitStack, worker: Worker) -> list[str]:
        """Arguments of run_notebook.sh that activate this environment.

        Whatever must last as long as the run (a packed environment's in-use lock) is
        entered on ``stack``.
        """
        ...


@dataclass(frozen=True)
class ResolveOptions:
    """Where relative locations start, and how packed environments are fetched and checked."""

    base_dir: Path
    resource_root: str | None = None
    conn_id: str | None = None
    sha256: str | None = None


def _require_conda_sh(conda_path: str) -> None:
    if not os.path.isfile(conda_path):
        raise CondaEnvError(
            f"conda.sh not found at '{conda_path}': set the 'conda_path' extra of the jupyter_conda "
            "connection to <conda base>/etc/profile.d/conda.sh (conda info --base shows the base)"
        )


def _supported_suffixes() -> str:
    return ", ".join(ARCHIVE_FORMATS)


def _is_archive(value: str) -> bool:
    """Judged by the suffix of the path, so a URL's query string does not hide it."""
    return archive_format(urlsplit(value).path if "://" in value else value) is not None


@dataclass(frozen=True)
class PackedEnvironment:
    """A conda-pack archive from any source, unpacked once per worker into the cache and
    activated by its own ``bin/activate``."""

    source: ArchiveSource
    sha256: str | None = None

    @classmethod
    def matches(cls, value: str) -> bool:
        return _is_archive(value) or not is_local(value)

    @classmethod
    def from_value(cls, value: str, options: ResolveOptions) -> PackedEnvironment:
        from airflow_jupyter_provider.environments.cache import validate_sha256
        from airflow_jupyter_provider.environments.sources import resolve_source

        if not _is_archive(value):
            raise CondaEnvError(
                f"conda_env '{value}' is a URL without an archive suffix: packed environments "
                f"end in one of {_supported_suffixes()}"
            )
        try:
            sha256 = validate_sha256(options.sha256)
        except ValueError as err:
            raise CondaEnvError(str(err)) from err
        source = resolve_source(
            value, base_dir=options.base_dir, resource_root=options.resource_root, conn_id=options.conn_id
        )
        return cls(source, sha256)

    def activation_args(self, stack: ExitStack, worker: Worker) -> list[str]:
        from airflow_jupyter_provider.environments.archive import ArchiveError
        from airflow_jupyter_provider.environments.cache import CacheDirError
        from airflow_jupyter_provider.environments.sources import SourceError

        try:
            prefix = stack.enter_context(
                worker.env_cache.environment(self.source, self.sha256, log=worker.log)
            )
        except SourceError as err:
            raise CondaEnvError(f"conda_env: {err}", retryable=err.retryable) from err
        except (ArchiveError, CacheDirError, ValueError) as err:
            raise CondaEnvError(f"conda_env: {err}") from err
        except Exception as err:
            # Only a source may answer differently next time; a bug of ours or a capability this
            # worker lacks fails the same way on every try, so it must not wait through retries.
            raise CondaEnvError(
                f"conda_env: preparing {self.source.location} failed with {type(err).__name__}: {err}. "
                "This is a fault of the worker's setup or of airflow-jupyter-provider, not of the "
                "archive, and a retry would fail the same way: please report it with this log"
            ) from err
        return ["packed", str(prefix)]


@dataclass(frozen=True)
class PrefixEnvironment:
    """An environment given by its folder (one that holds ``conda-meta/``)."""

    prefix: Path

    @classmethod
    def matches(cls, value: str) -> bool:
        # conda refuses '/' in environment names, so a value with one is a path.
        return value.startswith("file://") or os.sep in value or value in (".", "..")

    @classmethod
    def from_value(cls, value: str, options: ResolveOptions) -> PrefixEnvironment:
        return cls(local_path(value, options.base_dir))

    def activation_args(self, stack: ExitStack, worker: Worker) -> list[str]:
        if self.prefix.is_file():
            raise CondaEnvError(
                f"conda_env: '{self.prefix}' is a file, but packed environments end in one of "
                f"{_supported_suffixes()}"
            )
        if not (self.prefix / "conda-meta").is_dir():
            raise CondaEnvError(
                f"conda_env: '{self.prefix}' is not a conda environment (it has no conda-meta/ folder)"
            )
        _require_conda_sh(worker.conda_path)
        return ["conda", worker.conda_path, str(self.prefix)]


@dataclass(frozen=True)
class NamedEnvironment:
    """An environment known to the worker's conda by name (``conda env list``)."""

    name: str

    @classmethod
    def matches(cls, value: str) -> bool:
        return True

    @classmethod
    def from_value(cls, value: str, options: ResolveOptions) -> NamedEnvironment:
        return cls(value)

    def activation_args(self, stack: ExitStack, worker: Worker) -> list[str]:
        _require_conda_sh(worker.conda_path)
        return ["conda", worker.conda_path, self.name]


KINDS = (PackedEnvironment, PrefixEnvironment, NamedEnvironment)


def resolve_environment(value: str, options: ResolveOptions) -> Environment:
    """The environment ``value`` names; relative locations start at ``options``' folders."""
    if not isinstance(value, str) or not value.strip():
        raise CondaEnvError(f"conda_env must be a non-empty string, got {value!r}")
    kind = next(kind for kind in KINDS if kind.matches(value))
    environment = kind.from_value(value, options)
    if options.sha256 is not None and not isinstance(environment, PackedEnvironment):
        raise CondaEnvError(
            f"conda_env_sha256 checks packed environments only, and conda_env '{value}' is not one"
        )
    return environment

"""The three kinds of ``conda_env`` value and how each one is activated.

Each kind's ``activate()`` is a context manager: entered, it makes the environment ready (a
packed one is fetched and unpacked into the cache, then held in use) and gives the
:class:`Activation` the run's shell performs; left, it lets the environment go. The kinds are
tried in the order of :data:`KINDS`, the first whose ``matches`` accepts the value wins.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from logging import Logger
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from airflow_jupyter_provider.environments.formats import ARCHIVE_FORMATS, archive_format
from airflow_jupyter_provider.exceptions import CondaEnvError, JupyterCondaError
from airflow_jupyter_provider.locations import is_local, local_path

if TYPE_CHECKING:
    from airflow_jupyter_provider.config import WorkerSettings
    from airflow_jupyter_provider.environments.sources import ArchiveSource


@dataclass(frozen=True)
class Activation:
    """How the run's shell activates an environment: with ``conda_sh``, ``conda activate target``;
    without (a packed environment), by sourcing ``target/bin/activate``."""

    target: str
    conda_sh: str | None = None
    #: a packed environment's archive sha256, as the cache knows it
    sha256: str | None = None
    #: the prefix of the requirements layer over the environment, whose Python runs the notebook
    layer: str | None = None


@dataclass(frozen=True)
class EnvironmentFacts:
    """Which environment a run uses, as lineage reports it: its ``kind`` and the one value that
    names it (``name``, ``folder`` or ``archive``); a packed environment's sha256 once known (its
    pin before the run, the archive's after) and the ``folder`` it was unpacked into."""

    kind: str
    name: str | None = None
    folder: str | None = None
    archive: str | None = None
    sha256: str | None = None
    #: the requirements layered on it, if any
    requirements: tuple[str, ...] = ()


class Environment(Protocol):
    def activate(self, settings: WorkerSettings, log: Logger) -> AbstractContextManager[Activation]:
        """Make the environment ready; it stays ready (a packed one in use) until ``with`` ends.

        :raises CondaEnvError: it cannot be used; ``retryable`` says whether a retry may help.
        """
        ...

    def facts(self, activation: Activation | None = None) -> EnvironmentFacts:
        """Which environment this is; with the ``activation`` a run used, what it turned out to be."""
        ...


@dataclass(frozen=True)
class ResolveOptions:
    """Where relative locations start, and how packed environments are fetched and checked."""

    base_dir: Path
    resource_root: str | None = None
    conn_id: str | None = None
    sha256: str | None = None
    #: requirements to layer on the environment (``layers.py``)
    requirements: tuple[str, ...] = ()


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

    @staticmethod
    def check(value: str, sha256: str | None) -> str | None:
        """Refuse what no run can use (no archive suffix, a malformed pin); the pin, normalized."""
        from airflow_jupyter_provider.environments.checksums import validate_sha256

        if not _is_archive(value):
            raise CondaEnvError(
                f"conda_env '{value}' is a URL without an archive suffix: packed environments "
                f"end in one of {_supported_suffixes()}"
            )
        try:
            return validate_sha256(sha256)
        except ValueError as err:
            raise CondaEnvError(str(err)) from err

    @classmethod
    def from_value(cls, value: str, options: ResolveOptions) -> PackedEnvironment:
        from airflow_jupyter_provider.environments.sources import resolve_source

        sha256 = cls.check(value, options.sha256)
        source = resolve_source(
            value, base_dir=options.base_dir, resource_root=options.resource_root, conn_id=options.conn_id
        )
        return cls(source, sha256)

    @contextmanager
    def activate(self, settings: WorkerSettings, log: Logger) -> Iterator[Activation]:
        with ExitStack() as in_use:
            yield self._prepare(in_use, settings, log)

    def facts(self, activation: Activation | None = None) -> EnvironmentFacts:
        if activation is None:
            return EnvironmentFacts("archive", archive=self.source.location, sha256=self.sha256)
        return EnvironmentFacts(
            "archive", folder=activation.target, archive=self.source.location, sha256=activation.sha256
        )

    def _prepare(self, in_use: ExitStack, settings: WorkerSettings, log: Logger) -> Activation:
        """The activation of the environment's prefix in the cache, held in use on ``in_use``."""
        from airflow_jupyter_provider.environments.cache import EnvironmentCache

        try:
            cache = EnvironmentCache.of(settings.env_cache())
            prefix = in_use.enter_context(cache.environment(self.source, self.sha256, log=log))
            return Activation(str(prefix), sha256=cache.sha256_of(prefix))
        except (JupyterCondaError, ValueError) as err:
            retryable = isinstance(err, JupyterCondaError) and err.retryable
            raise CondaEnvError(f"conda_env: {err}", retryable=retryable) from err
        except Exception as err:
            # Only a source may answer differently next time; a bug of ours or a capability this
            # worker lacks fails the same way on every try, so it must not wait through retries.
            raise CondaEnvError(
                f"conda_env: preparing {self.source.location} failed with {type(err).__name__}: {err}. "
                "This is a fault of the worker's setup or of airflow-jupyter-provider, not of the "
                "archive, and a retry would fail the same way: please report it with this log"
            ) from err


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

    @contextmanager
    def activate(self, settings: WorkerSettings, log: Logger) -> Iterator[Activation]:
        if self.prefix.is_file():
            raise CondaEnvError(
                f"conda_env: '{self.prefix}' is a file, but packed environments end in one of "
                f"{_supported_suffixes()}"
            )
        if not (self.prefix / "conda-meta").is_dir():
            raise CondaEnvError(
                f"conda_env: '{self.prefix}' is not a conda environment (it has no conda-meta/ folder)"
            )
        _require_conda_sh(settings.conda_path)
        yield Activation(str(self.prefix), settings.conda_path)

    def facts(self, activation: Activation | None = None) -> EnvironmentFacts:
        return EnvironmentFacts("folder", folder=str(self.prefix))


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

    @contextmanager
    def activate(self, settings: WorkerSettings, log: Logger) -> Iterator[Activation]:
        _require_conda_sh(settings.conda_path)
        yield Activation(self.name, settings.conda_path)

    def facts(self, activation: Activation | None = None) -> EnvironmentFacts:
        return EnvironmentFacts("name", name=self.name)


KINDS = (PackedEnvironment, PrefixEnvironment, NamedEnvironment)


def check_environment(value: str, sha256: str | None = None) -> type[Environment]:
    """The kind of environment ``value`` names, refusing what no run can use; reads no file, so
    DAG parsing checks static values with it."""
    if not isinstance(value, str) or not value.strip():
        raise CondaEnvError(f"conda_env must be a non-empty string, got {value!r}")
    kind = next(kind for kind in KINDS if kind.matches(value))
    if kind is PackedEnvironment:
        PackedEnvironment.check(value, sha256)
    elif sha256 is not None:
        raise CondaEnvError(
            f"conda_env_sha256 checks packed environments only, and conda_env '{value}' is not one"
        )
    return kind


def resolve_environment(value: str, options: ResolveOptions) -> Environment:
    """The environment ``value`` names, with ``options.requirements`` layered on it if any;
    relative locations start at ``options``' folders."""
    environment = check_environment(value, options.sha256).from_value(value, options)
    if not options.requirements:
        return environment
    from airflow_jupyter_provider.environments.layers import RequirementsLayer

    return RequirementsLayer(environment, options.requirements)

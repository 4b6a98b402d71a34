"""The three kinds of ``conda_env`` value and how each one is activated.

Each kind turns into the first arguments of ``execution/run_notebook.sh``; the kinds are
tried in the order of :data:`KINDS`, the first whose ``matches`` accepts the value wins.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from logging import Logger
from pathlib import Path
from typing import Protocol

from airflow_jupyter_provider.environments.archive import ArchiveError, archive_format, unpack
from airflow_jupyter_provider.locations import is_local, local_path


class CondaEnvError(Exception):
    """``conda_env`` cannot be used; ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class Environment(Protocol):
    def activation_args(self, workdir: Path, conda_path: str, log: Logger) -> list[str]:
        """Arguments of run_notebook.sh that activate this environment (may unpack into workdir)."""
        ...


def _require_conda_sh(conda_path: str) -> None:
    if not os.path.isfile(conda_path):
        raise CondaEnvError(
            f"conda.sh not found at '{conda_path}': set the 'conda_path' extra of the jupyter_conda "
            "connection to <conda base>/etc/profile.d/conda.sh (conda info --base shows the base)"
        )


@dataclass(frozen=True)
class PackedEnvironment:
    """A conda-pack archive, unpacked for this run, activated by its own ``bin/activate``."""

    archive: Path

    @classmethod
    def matches(cls, value: str) -> bool:
        return archive_format(value) is not None

    @classmethod
    def from_value(cls, value: str, base_dir: Path) -> PackedEnvironment:
        if not is_local(value):
            raise CondaEnvError(f"conda_env '{value}': only local paths and file:// URLs are supported")
        return cls(local_path(value, base_dir))

    def activation_args(self, workdir: Path, conda_path: str, log: Logger) -> list[str]:
        if not self.archive.is_file():
            raise CondaEnvError(f"conda_env: no archive at '{self.archive}'", retryable=True)
        prefix = workdir / "env"
        prefix.mkdir()
        log.info("Unpacking packed environment %s (%.1f MB)", self.archive, self.archive.stat().st_size / 1e6)
        started = time.monotonic()
        try:
            unpack(self.archive, prefix)
        except ArchiveError as err:
            raise CondaEnvError(f"conda_env: {err}") from err
        log.info("Unpacked into %s in %.1f s", prefix, time.monotonic() - started)
        expected = ("bin/activate", "bin/conda-unpack", "conda-meta")
        missing = [name for name in expected if not (prefix / name).exists()]
        if missing:
            raise CondaEnvError(
                f"conda_env: '{self.archive}' is not a conda-pack archive (it has no {', '.join(missing)}); "
                "make it with `conda pack -n ENV -o ENV.tar.gz`"
            )
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
    def from_value(cls, value: str, base_dir: Path) -> PrefixEnvironment:
        return cls(local_path(value, base_dir))

    def activation_args(self, workdir: Path, conda_path: str, log: Logger) -> list[str]:
        if not (self.prefix / "conda-meta").is_dir():
            raise CondaEnvError(
                f"conda_env: '{self.prefix}' is not a conda environment (it has no conda-meta/ folder)"
            )
        _require_conda_sh(conda_path)
        return ["conda", conda_path, str(self.prefix)]


@dataclass(frozen=True)
class NamedEnvironment:
    """An environment known to the worker's conda by name (``conda env list``)."""

    name: str

    @classmethod
    def matches(cls, value: str) -> bool:
        return True

    @classmethod
    def from_value(cls, value: str, base_dir: Path) -> NamedEnvironment:
        return cls(value)

    def activation_args(self, workdir: Path, conda_path: str, log: Logger) -> list[str]:
        _require_conda_sh(conda_path)
        return ["conda", conda_path, self.name]


KINDS = (PackedEnvironment, PrefixEnvironment, NamedEnvironment)


def resolve_environment(value: str, base_dir: Path) -> Environment:
    """The environment ``value`` names; relative paths are taken from ``base_dir``."""
    if not isinstance(value, str) or not value.strip():
        raise CondaEnvError(f"conda_env must be a non-empty string, got {value!r}")
    kind = next(kind for kind in KINDS if kind.matches(value))
    return kind.from_value(value, base_dir)

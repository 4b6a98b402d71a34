"""The provider's settings: their defaults, and the one place that reads them.

A worker's settings come from two places: the ``jupyter_conda`` connection's extra and the
``[jupyter_conda]`` section of Airflow's configuration (declared, with these defaults, in
``get_provider_info.py``). :meth:`WorkerSettings.load` reads both when a run starts, so a
changed ``airflow.cfg`` or ``AIRFLOW__JUPYTER_CONDA__*`` variable applies to the next run.

Airflow imports this module while it reads its own configuration (through
``get_provider_info.py``), so Airflow's names are imported inside the functions that read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The Airflow configuration section of this provider's options.
CONFIG_SECTION = "jupyter_conda"
DEFAULT_CONDA_PATH = "/opt/anaconda3/etc/profile.d/conda.sh"
#: Short on purpose: conda-unpack cannot write a prefix longer than the packing one into binaries.
DEFAULT_ENV_CACHE_DIR = "~/.cache/jupyter-conda"
DEFAULT_ENV_CACHE_MAX_SIZE_MB = 10240
DEFAULT_CGROUP_MOUNT = "/sys/fs/cgroup"
DEFAULT_CGROUP_PARENT = ""
DEFAULT_UNENFORCEABLE_LIMITS = "fail"
DEFAULT_NOTEBOOK_ENV_KEEP = ""
DEFAULT_REQUIREMENTS_INSTALLER = "auto"
#: unenforceable_limits values: fail the task (a limit is never dropped silently), or warn and run.
UNENFORCEABLE_POLICIES = ("fail", "warn")


@dataclass(frozen=True)
class CgroupSettings:
    """Where cgroup file systems are mounted, the group runs go under, and the fallback policy."""

    mount: Path
    #: a cgroup path inside each hierarchy (``/jupyter-conda``); empty: the worker's own cgroup
    parent: str
    unenforceable_limits: str

    @classmethod
    def load(cls) -> CgroupSettings:
        """The ``[jupyter_conda]`` cgroup options; read by every run (each sweeps stale run groups),
        but only runs with limits fail for an option they cannot use.

        :raises SettingError: an option has a value this provider cannot use.
        """
        from airflow_jupyter_provider.compat import airflow_conf
        from airflow_jupyter_provider.exceptions import SettingError

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


@dataclass(frozen=True)
class EnvCacheSettings:
    """Where packed environments are unpacked, and how much of them to keep (None: no bound)."""

    root: Path
    max_bytes: int | None


@dataclass(frozen=True)
class WorkerSettings:
    """What a run on this worker needs to know beyond the task's own arguments."""

    #: the conda.sh that activates named environments
    conda_path: str = DEFAULT_CONDA_PATH
    #: where relative archive paths start (DolphinScheduler's resource center), if set
    resource_root: str | None = None
    #: the connection's own cache options; the config section's are read when a cache is needed
    extra: Mapping[str, Any] | None = None

    @classmethod
    def load(cls, extra: Mapping[str, Any]) -> WorkerSettings:
        """The settings of the connection whose extra is ``extra``, defaults for what it lacks."""
        return cls(
            conda_path=extra.get("conda_path") or DEFAULT_CONDA_PATH,
            resource_root=extra.get("resource_root") or None,
            extra=dict(extra),
        )

    def env_cache(self) -> EnvCacheSettings:
        """The environment cache's folder and bound: the connection's extra, else ``[jupyter_conda]``.

        Read only by runs in packed environments, as only they use the cache.
        """
        from airflow_jupyter_provider.compat import airflow_conf

        extra, conf = self.extra or {}, airflow_conf()
        root = extra.get("env_cache_dir") or conf.get(
            CONFIG_SECTION, "env_cache_dir", fallback=DEFAULT_ENV_CACHE_DIR
        )
        max_mb = int(
            extra.get("env_cache_max_size_mb")
            or conf.getint(CONFIG_SECTION, "env_cache_max_size_mb", fallback=DEFAULT_ENV_CACHE_MAX_SIZE_MB)
        )
        return EnvCacheSettings(Path(root), max_mb * 1024 * 1024 if max_mb > 0 else None)

    def notebook_env_keep(self) -> tuple[str, ...]:
        """The names and patterns of Airflow's variables a notebook gets all the same
        (``[jupyter_conda] notebook_env_keep``, comma-separated; see ``notebook_env.py``)."""
        from airflow_jupyter_provider.compat import airflow_conf

        text = airflow_conf().get(CONFIG_SECTION, "notebook_env_keep", fallback=DEFAULT_NOTEBOOK_ENV_KEEP)
        return tuple(word.strip() for word in text.split(",") if word.strip())

    def requirements_installer(self) -> str:
        """What builds requirements layers (``[jupyter_conda] requirements_installer``: auto, uv, pip)."""
        from airflow_jupyter_provider.compat import airflow_conf

        return airflow_conf().get(
            CONFIG_SECTION, "requirements_installer", fallback=DEFAULT_REQUIREMENTS_INSTALLER
        )

    def cgroups(self) -> CgroupSettings:
        """The cgroup options (see :meth:`CgroupSettings.load`)."""
        return CgroupSettings.load()

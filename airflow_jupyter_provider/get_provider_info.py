"""The provider's description for Airflow's ProvidersManager (the ``apache_airflow_provider`` entry
point), laid out as Airflow's own providers lay out theirs: one module, one function."""

from __future__ import annotations

from airflow_jupyter_provider import __version__
from airflow_jupyter_provider.config import (
    CONFIG_SECTION,
    DEFAULT_CGROUP_MOUNT,
    DEFAULT_CGROUP_PARENT,
    DEFAULT_CONDA_PATH,
    DEFAULT_ENV_CACHE_DIR,
    DEFAULT_ENV_CACHE_MAX_SIZE_MB,
    DEFAULT_NOTEBOOK_ENV_KEEP,
    DEFAULT_REQUIREMENTS_INSTALLER,
    DEFAULT_UNENFORCEABLE_LIMITS,
)


def get_provider_info() -> dict:
    """Describe the provider to Airflow's ProvidersManager (``apache_airflow_provider`` entry point)."""
    return {
        "package-name": "airflow-jupyter-provider",
        "name": "Jupyter Conda",
        "description": "Run Jupyter notebooks with papermill inside conda environments.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Jupyter Conda",
                "external-doc-url": "https://papermill.readthedocs.io/",
                "tags": ["software"],
            }
        ],
        "operators": [
            {
                "integration-name": "Jupyter Conda",
                "python-modules": ["airflow_jupyter_provider.operators.jupyter_conda"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Jupyter Conda",
                "python-modules": ["airflow_jupyter_provider.hooks.jupyter_conda"],
            }
        ],
        "plugins": [
            {
                "name": "jupyter_conda",
                "plugin-class": "airflow_jupyter_provider.plugins.notebook_view.JupyterCondaPlugin",
            }
        ],
        "connection-types": [
            {
                "hook-class-name": "airflow_jupyter_provider.hooks.jupyter_conda.JupyterCondaHook",
                "hook-name": "Jupyter Conda",
                "connection-type": "jupyter_conda",
                "conn-fields": {
                    "conda_path": {
                        "label": "Path of conda.sh",
                        "schema": {"type": ["string", "null"], "default": DEFAULT_CONDA_PATH},
                        "description": "The conda.sh that activates named environments on the worker "
                        "(conda info --base, then etc/profile.d/conda.sh).",
                    },
                    "resource_root": {
                        "label": "Resource root",
                        "schema": {"type": ["string", "null"]},
                        "description": "Folder or storage URL (s3://bucket/envs) that relative paths of "
                        "packed environments start from.",
                    },
                    "env_cache_dir": {
                        "label": "Environment cache folder",
                        "schema": {"type": ["string", "null"]},
                        "description": "Where packed environments are unpacked once per worker; default "
                        "from [jupyter_conda] env_cache_dir.",
                    },
                    "env_cache_max_size_mb": {
                        "label": "Environment cache size bound (MB)",
                        "schema": {"type": ["integer", "null"]},
                        "description": "Least recently used environments beyond it are evicted; 0: no bound.",
                    },
                    "index_url": {
                        "label": "Package index URL",
                        "schema": {"type": ["string", "null"]},
                        "description": "The index that tasks' requirements are installed from (pip and uv "
                        "--index-url); default: the worker's pip or uv configuration. Credentials in it "
                        "are masked in the log.",
                    },
                    "extra_index_urls": {
                        "label": "Extra index URLs",
                        "schema": {"type": ["string", "null"]},
                        "description": "More indexes (--extra-index-url), separated by spaces or commas.",
                    },
                    "find_links": {
                        "label": "Find links",
                        "schema": {"type": ["string", "null"]},
                        "description": "Folders or pages of wheels (--find-links), separated by spaces "
                        "or commas.",
                    },
                    "trusted_host": {
                        "label": "Trusted hosts",
                        "schema": {"type": ["string", "null"]},
                        "description": "Hosts served without valid HTTPS (pip --trusted-host, uv "
                        "--allow-insecure-host), separated by spaces or commas.",
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "schema", "login", "password", "port", "extra"],
                    "relabeling": {},
                    "placeholders": {"conda_path": DEFAULT_CONDA_PATH},
                },
            }
        ],
        "config": {
            CONFIG_SECTION: {
                "description": "How notebook runs are set up on the worker.",
                "options": {
                    "env_cache_dir": {
                        "description": "Folder where each worker unpacks packed (conda-pack) environments "
                        "once, keyed by the archive's sha256. Keep the path short: conda-unpack cannot "
                        "write a prefix longer than the one the environment was packed at into binary "
                        "files. The connection extra env_cache_dir overrides it.",
                        "version_added": "0.2.0",
                        "type": "string",
                        "example": "/var/cache/jupyter-conda",
                        "default": DEFAULT_ENV_CACHE_DIR,
                    },
                    "env_cache_max_size_mb": {
                        "description": "Unpacked size above which the least recently used environments "
                        "are evicted (never one a running task uses); 0 keeps them all. The connection "
                        "extra env_cache_max_size_mb overrides it.",
                        "version_added": "0.2.0",
                        "type": "integer",
                        "example": "20480",
                        "default": str(DEFAULT_ENV_CACHE_MAX_SIZE_MB),
                    },
                    "cgroup_mount": {
                        "description": "Folder where the cgroup file systems are mounted: a cgroup v2 "
                        "hierarchy there or in its unified/ subfolder, cgroup v1 hierarchies in its "
                        "cpu/, cpuacct/ and memory/ subfolders. Runs with cpu_quota or max_memory get "
                        "a cgroup of their own in it (v2 where it can enforce the limit, else v1).",
                        "version_added": "0.2.0",
                        "type": "string",
                        "example": None,
                        "default": DEFAULT_CGROUP_MOUNT,
                    },
                    "cgroup_parent": {
                        "description": "The cgroup, as a path inside each hierarchy (e.g. "
                        "/jupyter-conda), under which run groups are created. Empty: the worker's own "
                        "cgroup. On cgroup v2 the worker's own cgroup holds processes, so it cannot "
                        "pass controllers on to children: name a group whose cgroup.subtree_control "
                        "enables cpu and memory.",
                        "version_added": "0.2.0",
                        "type": "string",
                        "example": "/jupyter-conda",
                        "default": DEFAULT_CGROUP_PARENT,
                    },
                    "unenforceable_limits": {
                        "description": "What a task with cpu_quota or max_memory does on a worker that "
                        "cannot enforce them through cgroups: fail (the task fails, saying why and how "
                        "to grant access) or warn (the notebook runs without the limit and the task "
                        "log says so).",
                        "version_added": "0.2.0",
                        "type": "string",
                        "example": "warn",
                        "default": DEFAULT_UNENFORCEABLE_LIMITS,
                    },
                    "notebook_env_keep": {
                        "description": "Worker variables a notebook gets although they are Airflow's "
                        "(AIRFLOW__*, AIRFLOW_CONN_*, AIRFLOW_VAR_*, _AIRFLOW_*, __AIRFLOW_*, which it "
                        "otherwise does not): names or shell-style patterns, separated by commas.",
                        "version_added": "0.2.0",
                        "type": "string",
                        "example": "AIRFLOW__CORE__DEFAULT_TIMEZONE, AIRFLOW_VAR_PUBLIC_*",
                        "default": DEFAULT_NOTEBOOK_ENV_KEEP,
                    },
                    "requirements_installer": {
                        "description": "What builds the layers of tasks with requirements: auto (uv "
                        "where it is installed, the [uv] extra, else pip), uv or pip. The package index "
                        "is the installer's own configuration unless the jupyter_conda connection's "
                        "extras name one.",
                        "version_added": "0.2.0",
                        "type": "string",
                        "example": "pip",
                        "default": DEFAULT_REQUIREMENTS_INSTALLER,
                    },
                },
            }
        },
    }

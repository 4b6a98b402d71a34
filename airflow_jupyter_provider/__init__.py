"""Apache Airflow provider that runs Jupyter notebooks with papermill inside conda environments."""

from __future__ import annotations

__version__ = "0.1.0"

DEFAULT_CONDA_PATH = "/opt/anaconda3/etc/profile.d/conda.sh"


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
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "schema", "login", "password", "port", "extra"],
                    "relabeling": {},
                    "placeholders": {"conda_path": DEFAULT_CONDA_PATH},
                },
            }
        ],
    }

"""Apache Airflow provider that runs Jupyter notebooks with papermill inside conda environments."""

__version__ = "0.1.0"

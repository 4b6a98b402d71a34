"""Fixtures of the DAG-integrity tests: the folder of broken DAGs, and an Airflow database with a pool."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.testing.helpers import DATABASE_POOL


@pytest.fixture(scope="session")
def airflow_database() -> str:
    """The session's Airflow database (tests/conftest.py's ``AIRFLOW_HOME``) migrated, with the pool
    DATABASE_POOL created by the ``airflow`` command, as a deployment's administrator would."""
    for command in (["db", "migrate"], ["pools", "set", DATABASE_POOL, "2", "GPU workers"]):
        subprocess.run([sys.executable, "-m", "airflow", *command], check=True, capture_output=True)
    return DATABASE_POOL

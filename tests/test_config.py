"""The provider's settings: ``[jupyter_conda]`` in Airflow's configuration, read in config.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from airflow_jupyter_provider.config import CgroupSettings
from airflow_jupyter_provider.exceptions import SettingError


def settings(mount: Path = Path("/sys/fs/cgroup"), parent: str = "", policy: str = "fail") -> CgroupSettings:
    return CgroupSettings(mount=mount, parent=parent, unenforceable_limits=policy)


# --- the settings, from Airflow's configuration ------------------------------------------------


def test_settings_default_to_the_system_mount_the_workers_own_group_and_failing():
    assert CgroupSettings.load() == settings()


def test_the_options_and_their_defaults_are_declared_to_airflow():
    """Airflow knows them from the provider's info, as `airflow config get-value` shows them."""

    def value(option: str) -> str:
        command = [sys.executable, "-m", "airflow", "config", "get-value", "jupyter_conda", option]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()

    declared = {option: value(option) for option in ("cgroup_mount", "cgroup_parent", "unenforceable_limits")}
    assert declared == {"cgroup_mount": "/sys/fs/cgroup", "cgroup_parent": "", "unenforceable_limits": "fail"}


def test_settings_come_from_the_jupyter_conda_section(monkeypatch):
    monkeypatch.setenv("AIRFLOW__JUPYTER_CONDA__CGROUP_MOUNT", "/run/cgroups")
    monkeypatch.setenv("AIRFLOW__JUPYTER_CONDA__CGROUP_PARENT", "/jupyter-conda")
    monkeypatch.setenv("AIRFLOW__JUPYTER_CONDA__UNENFORCEABLE_LIMITS", "Warn")
    assert CgroupSettings.load() == settings(Path("/run/cgroups"), "/jupyter-conda", "warn")


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        (
            "UNENFORCEABLE_LIMITS",
            "ignore",
            r"\[jupyter_conda\] unenforceable_limits = 'ignore' is not one of fail, warn",
        ),
        (
            "CGROUP_PARENT",
            "jupyter",
            r"\[jupyter_conda\] cgroup_parent = 'jupyter' must be a cgroup path starting",
        ),
    ],
)
def test_unusable_settings_are_named(monkeypatch, option, value, message):
    monkeypatch.setenv(f"AIRFLOW__JUPYTER_CONDA__{option}", value)
    with pytest.raises(SettingError, match=message):
        CgroupSettings.load()

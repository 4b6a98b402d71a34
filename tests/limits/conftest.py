"""The fake cgroup v2 tree, set as the worker's cgroup mount."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.limits.fake_v2 import FakeCgroup2

#: The group prepared for runs on the fake tree, as the README tells an admin to make it.
RUNS_PARENT = "/jupyter-conda"


def point_worker_at(monkeypatch: pytest.MonkeyPatch, mount: Path, parent: str, policy: str = "fail") -> None:
    """Set ``[jupyter_conda]`` cgroup_mount, cgroup_parent and unenforceable_limits, as a worker's
    environment would."""
    monkeypatch.setenv("AIRFLOW__JUPYTER_CONDA__CGROUP_MOUNT", str(mount))
    monkeypatch.setenv("AIRFLOW__JUPYTER_CONDA__CGROUP_PARENT", parent)
    monkeypatch.setenv("AIRFLOW__JUPYTER_CONDA__UNENFORCEABLE_LIMITS", policy)


@pytest.fixture
def fake_v2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCgroup2:
    """A v2 worker set up as the README says: /jupyter-conda enables cpu and memory for run groups."""
    fake = FakeCgroup2(tmp_path / "cgroup").build()
    fake.group(RUNS_PARENT, subtree_control="cpu memory")
    fake.install(monkeypatch)
    point_worker_at(monkeypatch, fake.root, RUNS_PARENT)
    return fake

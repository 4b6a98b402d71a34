"""Which kind of environment a ``conda_env`` value names, and what each kind refuses."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from airflow_jupyter_provider.environments import CondaEnvError, resolve_environment
from airflow_jupyter_provider.environments.kinds import NamedEnvironment, PackedEnvironment, PrefixEnvironment

BASE = Path("/srv/dags")
LOG = logging.getLogger(__name__)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("analytics", NamedEnvironment("analytics")),
        ("my env $(x)", NamedEnvironment("my env $(x)")),
        ("/opt/conda/envs/analytics", PrefixEnvironment(Path("/opt/conda/envs/analytics"))),
        ("envs/analytics", PrefixEnvironment(BASE / "envs/analytics")),
        ("file:///opt/envs/a%20b", PrefixEnvironment(Path("/opt/envs/a b"))),
        ("/opt/packs/env.tar.gz", PackedEnvironment(Path("/opt/packs/env.tar.gz"))),
        ("env.TGZ", PackedEnvironment(BASE / "env.TGZ")),
        ("file:///opt/packs/env.zip", PackedEnvironment(Path("/opt/packs/env.zip"))),
    ],
)
def test_value_resolves_to_its_kind(value, expected):
    assert resolve_environment(value, BASE) == expected


@pytest.mark.parametrize("value", ["", "   ", None, 3])
def test_empty_or_non_text_is_refused(value):
    with pytest.raises(CondaEnvError, match="conda_env must be a non-empty string"):
        resolve_environment(value, BASE)


def test_prefix_without_conda_meta_is_refused(tmp_path):
    environment = resolve_environment(str(tmp_path), BASE)
    with pytest.raises(CondaEnvError, match="is not a conda environment \\(it has no conda-meta/ folder\\)"):
        environment.activation_args(tmp_path, "/opt/anaconda3/etc/profile.d/conda.sh", LOG)


def test_named_environment_needs_conda_sh(tmp_path):
    with pytest.raises(CondaEnvError, match=f"conda.sh not found at '{tmp_path}/missing.sh'") as err:
        NamedEnvironment("analytics").activation_args(tmp_path, str(tmp_path / "missing.sh"), LOG)
    assert not err.value.retryable


def test_missing_archive_may_appear_later(tmp_path):
    with pytest.raises(CondaEnvError, match="no archive at") as err:
        PackedEnvironment(tmp_path / "env.tar.gz").activation_args(tmp_path, "unused", LOG)
    assert err.value.retryable

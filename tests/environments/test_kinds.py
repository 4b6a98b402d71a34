"""Which kind of environment a ``conda_env`` value names, and what each kind refuses."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from airflow_jupyter_provider.config import WorkerSettings
from airflow_jupyter_provider.environments import CondaEnvError, ResolveOptions, resolve_environment
from airflow_jupyter_provider.environments.kinds import NamedEnvironment, PackedEnvironment, PrefixEnvironment
from airflow_jupyter_provider.environments.sources import HttpArchive, LocalArchive, StorageArchive

BASE = ResolveOptions(Path("/srv/dags"))
SHA = "ab" * 32
LOG = logging.getLogger(__name__)


def worker(conda_path: str, cache: Path) -> WorkerSettings:
    """A worker's settings as environments see them: plain values, no Airflow connection needed."""
    return WorkerSettings.load({"conda_path": conda_path, "env_cache_dir": str(cache)})


def activate(environment, settings: WorkerSettings) -> None:
    with environment.activate(settings, LOG):
        pass


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("analytics", NamedEnvironment("analytics")),
        ("my env $(x)", NamedEnvironment("my env $(x)")),
        ("/opt/conda/envs/analytics", PrefixEnvironment(Path("/opt/conda/envs/analytics"))),
        ("envs/analytics", PrefixEnvironment(Path("/srv/dags/envs/analytics"))),
        ("file:///opt/envs/a%20b", PrefixEnvironment(Path("/opt/envs/a b"))),
        ("/opt/packs/env.tar.gz", PackedEnvironment(LocalArchive(Path("/opt/packs/env.tar.gz")))),
        ("env.TGZ", PackedEnvironment(LocalArchive(Path("/srv/dags/env.TGZ")))),
        ("file:///opt/packs/env.zip", PackedEnvironment(LocalArchive(Path("/opt/packs/env.zip")))),
        ("https://h/env.tar.zst?sig=1", PackedEnvironment(HttpArchive("https://h/env.tar.zst?sig=1", None))),
        ("s3://bucket/envs/env.txz", PackedEnvironment(StorageArchive("s3://bucket/envs/env.txz", None))),
    ],
)
def test_value_resolves_to_its_kind(value, expected):
    assert resolve_environment(value, BASE) == expected


def test_relative_archive_starts_at_the_resource_root_and_keeps_its_connection():
    options = ResolveOptions(
        Path("/srv/dags"), resource_root="s3://team/envs", conn_id="aws_envs", sha256=SHA
    )
    assert resolve_environment("ml/env.tar.gz", options) == PackedEnvironment(
        StorageArchive("s3://team/envs/ml/env.tar.gz", "aws_envs"), SHA
    )


@pytest.mark.parametrize("value", ["", "   ", None, 3])
def test_empty_or_non_text_is_refused(value):
    with pytest.raises(CondaEnvError, match="conda_env must be a non-empty string"):
        resolve_environment(value, BASE)


def test_url_without_an_archive_suffix_is_refused_listing_the_suffixes():
    with pytest.raises(CondaEnvError, match=r"without an archive suffix: .* \.tar\.gz, \.tgz, .*\.zip"):
        resolve_environment("s3://bucket/env.rar", BASE)


def test_sha256_is_for_packed_environments_only():
    with pytest.raises(CondaEnvError, match="conda_env_sha256 checks packed environments only"):
        resolve_environment("analytics", ResolveOptions(Path("/srv"), sha256=SHA))
    with pytest.raises(CondaEnvError, match="conda_env_sha256"):
        resolve_environment("env.tar.gz", ResolveOptions(Path("/srv"), sha256="not-a-checksum"))


def test_prefix_without_conda_meta_is_refused(tmp_path):
    settings = worker("/opt/anaconda3/etc/profile.d/conda.sh", tmp_path / "cache")
    environment = resolve_environment(str(tmp_path), BASE)
    with pytest.raises(CondaEnvError, match="is not a conda environment \\(it has no conda-meta/ folder\\)"):
        activate(environment, settings)


def test_a_file_with_an_unknown_suffix_is_refused_listing_the_suffixes(tmp_path):
    archive = tmp_path / "env.rar"
    archive.write_bytes(b"x")
    settings = worker("/unused/conda.sh", tmp_path / "cache")
    with pytest.raises(CondaEnvError, match=r"is a file, but packed environments end in one of \.tar\.gz"):
        activate(resolve_environment(str(archive), BASE), settings)


def test_named_environment_needs_conda_sh(tmp_path):
    settings = worker(str(tmp_path / "missing.sh"), tmp_path / "cache")
    with pytest.raises(CondaEnvError, match=f"conda.sh not found at '{tmp_path}/missing.sh'") as err:
        activate(NamedEnvironment("analytics"), settings)
    assert not err.value.retryable


def test_missing_archive_may_appear_later(tmp_path):
    settings = worker("/unused/conda.sh", tmp_path / "cache")
    with pytest.raises(CondaEnvError) as err:
        activate(PackedEnvironment(LocalArchive(tmp_path / "env.tar.gz")), settings)
    assert err.value.retryable
    assert "env.tar.gz" in str(err.value)

"""Archive sources: which one a ``conda_env`` value names, and fetching from each of them.

Remote sources are real servers on loopback (see conftest.py): Python's http.server and
moto's S3-compatible server, reached through an Airflow connection as a user would.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from airflow_jupyter_provider.environments.sources import (
    HttpArchive,
    LocalArchive,
    SourceError,
    StorageArchive,
    resolve_source,
)

BASE = Path("/srv/dags")


@pytest.mark.parametrize(
    ("value", "resource_root", "expected"),
    [
        ("/opt/packs/env.tar.gz", None, LocalArchive(Path("/opt/packs/env.tar.gz"))),
        ("packs/env.tar.gz", None, LocalArchive(BASE / "packs/env.tar.gz")),
        ("file:///opt/packs/a%20b.zip", None, LocalArchive(Path("/opt/packs/a b.zip"))),
        ("env.tar.gz", "/shared/resources", LocalArchive(Path("/shared/resources/env.tar.gz"))),
        ("env.tar.gz", "file:///shared/resources/", LocalArchive(Path("/shared/resources/env.tar.gz"))),
        ("env.tar.gz", "resources", LocalArchive(BASE / "resources/env.tar.gz")),
        ("/opt/packs/env.tar.gz", "s3://bucket/envs", LocalArchive(Path("/opt/packs/env.tar.gz"))),
        ("./teams/env.tar.gz", "s3://bucket/envs/", StorageArchive("s3://bucket/envs/teams/env.tar.gz", "c")),
        (
            "my env.tgz",
            "https://files.example/envs",
            HttpArchive("https://files.example/envs/my%20env.tgz", "c"),
        ),
        (
            "http://files.example/env.zip",
            "s3://bucket/envs",
            HttpArchive("http://files.example/env.zip", "c"),
        ),
        ("gs://bucket/env.tar.xz", None, StorageArchive("gs://bucket/env.tar.xz", "c")),
    ],
)
def test_value_resolves_to_its_source(value, resource_root, expected):
    assert resolve_source(value, base_dir=BASE, resource_root=resource_root, conn_id="c") == expected


def test_remote_sources_are_named_by_their_file_name():
    assert StorageArchive("s3://bucket/teams/env.TAR.GZ").name == "env.TAR.GZ"
    assert HttpArchive("https://files.example/a%20b.tar.bz2?X-Signature=abc").name == "a b.tar.bz2"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_local_archive_is_copied_and_hashed(tmp_path):
    data = os.urandom(3_000_000)
    (tmp_path / "env.tar.gz").write_bytes(data)
    fetched = LocalArchive(tmp_path / "env.tar.gz").fetch(tmp_path / "copy")
    assert (fetched.sha256, fetched.size) == (_sha256(data), len(data))
    assert (tmp_path / "copy").read_bytes() == data
    assert (tmp_path / "copy").stat().st_mode & 0o777 == 0o600


def test_local_fingerprint_changes_when_the_file_is_rewritten(tmp_path):
    archive = LocalArchive(tmp_path / "env.tar.gz")
    archive.path.write_bytes(b"a" * 100)
    first = archive.fingerprint()
    assert archive.fingerprint() == first
    archive.path.write_bytes(b"b" * 100)
    assert archive.fingerprint() != first


def test_missing_local_archive_may_appear_later(tmp_path):
    archive = LocalArchive(tmp_path / "env.tar.gz")
    for attempt in (archive.fingerprint, lambda: archive.fetch(tmp_path / "copy")):
        with pytest.raises(SourceError, match=f"no archive at '{tmp_path}/env.tar.gz'") as err:
            attempt()
        assert err.value.retryable


def test_unreadable_local_archive_is_no_retry_matter(tmp_path):
    with pytest.raises(SourceError, match=f"cannot read the archive '{tmp_path}': Is a directory") as err:
        LocalArchive(tmp_path).fetch(tmp_path / "copy")
    assert not err.value.retryable


def test_http_archive_is_fetched_and_fingerprinted(http_server, tmp_path):
    data = os.urandom(2_500_000)
    (http_server.root / "fetched.tar.gz").write_bytes(data)
    archive = resolve_source(f"{http_server.url}/fetched.tar.gz", base_dir=tmp_path)
    fingerprint = archive.fingerprint()
    assert fingerprint is not None and fingerprint == archive.fingerprint()
    fetched = archive.fetch(tmp_path / "download")
    assert fetched.sha256 == _sha256(data)
    assert (tmp_path / "download").read_bytes() == data
    (http_server.root / "fetched.tar.gz").write_bytes(data[:-1])
    assert archive.fingerprint() != fingerprint


def test_http_archive_relative_to_a_resource_root(http_server, tmp_path):
    (http_server.root / "team env.tgz").write_bytes(b"payload")
    archive = resolve_source("team env.tgz", base_dir=tmp_path, resource_root=http_server.url + "/")
    assert archive.fetch(tmp_path / "download").sha256 == _sha256(b"payload")


def test_http_server_refusing_head_gives_no_fingerprint_but_still_serves(http_server, tmp_path):
    (http_server.root / "nohead" / "env.tar").write_bytes(b"payload")
    archive = HttpArchive(f"{http_server.url}/nohead/env.tar")
    assert archive.fingerprint() is None
    assert archive.fetch(tmp_path / "download").sha256 == _sha256(b"payload")


def test_http_credentials_come_from_an_http_connection(http_server, http_connection, tmp_path):
    (http_server.root / "private" / "env.zip").write_bytes(b"secret payload")
    url = f"{http_server.url}/private/env.zip"
    with pytest.raises(SourceError, match=r"cannot download .*/private/env\.zip': HTTP 401") as refused:
        HttpArchive(url).fetch(tmp_path / "download")
    assert not refused.value.retryable
    archive = HttpArchive(url, http_connection)
    assert archive.fingerprint() is not None
    assert archive.fetch(tmp_path / "download").sha256 == _sha256(b"secret payload")


def test_http_missing_archive_and_unknown_connection(http_server, tmp_path):
    with pytest.raises(SourceError, match="HTTP 404") as missing:
        HttpArchive(f"{http_server.url}/missing.tar.gz").fetch(tmp_path / "download")
    assert missing.value.retryable
    with pytest.raises(SourceError, match="conda_env_conn_id: no connection 'no_such_conn'") as unknown:
        HttpArchive(f"{http_server.url}/missing.tar.gz", "no_such_conn").fetch(tmp_path / "download")
    assert not unknown.value.retryable


def test_unreachable_http_server_is_retryable(tmp_path):
    with pytest.raises(SourceError, match=r"cannot reach 'http://127\.0\.0\.1:9/env\.tar\.gz'") as err:
        HttpArchive("http://127.0.0.1:9/env.tar.gz").fingerprint()
    assert err.value.retryable


def test_s3_archive_through_an_aws_connection(s3_server, s3_connection, tmp_path):
    data = os.urandom(1_500_000)
    url = s3_server.put("teams/fetched.tar.gz", data)
    archive = resolve_source(url, base_dir=tmp_path, conn_id=s3_connection)
    fingerprint = archive.fingerprint()
    assert fingerprint is not None and "ETag=" in fingerprint
    fetched = archive.fetch(tmp_path / "download")
    assert (fetched.sha256, fetched.size) == (_sha256(data), len(data))
    s3_server.put("teams/fetched.tar.gz", data[::-1])
    assert archive.fingerprint() != fingerprint


def test_s3_archive_relative_to_a_resource_root(s3_server, s3_connection, tmp_path):
    s3_server.put("resources/env.tar.bz2", b"payload")
    archive = resolve_source(
        "env.tar.bz2",
        base_dir=tmp_path,
        resource_root=f"s3://{s3_server.bucket}/resources",
        conn_id=s3_connection,
    )
    assert archive.fetch(tmp_path / "download").sha256 == _sha256(b"payload")


def test_missing_s3_archive_may_appear_later(s3_server, s3_connection):
    url = f"s3://{s3_server.bucket}/missing.tar.gz"
    with pytest.raises(SourceError, match=f"no archive at '{url}'") as err:
        StorageArchive(url, s3_connection).fingerprint()
    assert err.value.retryable


def test_storage_scheme_without_a_provider_says_what_to_install():
    with pytest.raises(
        SourceError, match=r"Airflow cannot open 'nosuch://b/env\.tar\.gz'.*install the provider"
    ) as err:
        StorageArchive("nosuch://b/env.tar.gz").fingerprint()
    assert not err.value.retryable

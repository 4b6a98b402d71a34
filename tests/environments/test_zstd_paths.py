"""What a ``.tar.zst`` packed environment needs on each unpack path (issue 21, point 6).

libarchive decompresses zstd itself (Debian's libarchive13 links libzstd): neither the
``zstandard`` package nor the ``zstd`` command is needed. The standard-library fallback needs
``zstandard`` (Python reads zstd only from 3.14 on). The archive is the session's real
conda-pack archive, recompressed with zstd; a missing ``zstandard`` is one whose import fails.
"""

from __future__ import annotations

import gzip
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_jupyter_provider.config import WorkerSettings
from airflow_jupyter_provider.environments import (
    CondaEnvError,
    ResolveOptions,
    libarchive_unpack,
    resolve_environment,
)

QUIET = logging.Logger("zstd-paths", logging.WARNING)


@pytest.fixture(scope="module")
def zst_archive(packed_env: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's conda-pack archive as ``.tar.zst``: the same tar, compressed with zstd."""
    import zstandard

    archive = tmp_path_factory.mktemp("zst") / "jupyter-test.tar.zst"
    with gzip.open(packed_env) as tar, archive.open("wb") as out:
        zstandard.ZstdCompressor().copy_stream(tar, out)
    return archive


@pytest.fixture
def cache_dir() -> Iterator[Path]:
    """An environment cache of the test's own, on tmpfs where there is one (as the session's is)."""
    folder = Path(
        tempfile.mkdtemp(prefix="zstd-", dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else None)
    )
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def without_zstandard(monkeypatch: pytest.MonkeyPatch) -> None:
    """``import zstandard`` fails, as where the package is not installed."""
    monkeypatch.setitem(sys.modules, "zstandard", None)
    with pytest.raises(ImportError):
        import zstandard  # noqa: F401


def activated_python(archive: Path, cache_dir: Path) -> str:
    """Activate the packed environment as a task does; what its own Python says it is."""
    environment = resolve_environment(str(archive), ResolveOptions(archive.parent))
    settings = WorkerSettings(extra={"env_cache_dir": str(cache_dir)})
    with environment.activate(settings, QUIET) as activation:
        python = Path(activation.target) / "bin" / "python"
        done = subprocess.run([python, "-c", "import sys; print(sys.prefix)"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_libarchive_unpacks_zst_without_zstandard_or_the_zstd_command(
    zst_archive: Path,
    cache_dir: Path,
    without_zstandard: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    libarchive_unpack.load.cache_clear()
    assert libarchive_unpack.load() is not None, "libarchive cannot be loaded: apt-get install libarchive13"
    no_tools = tmp_path / "bin"
    no_tools.mkdir()
    monkeypatch.setenv("PATH", str(no_tools))

    assert activated_python(zst_archive, cache_dir).startswith(str(cache_dir))


def test_the_standard_library_path_unpacks_zst_with_zstandard(
    zst_archive: Path, cache_dir: Path, without_libarchive: None
) -> None:
    assert activated_python(zst_archive, cache_dir).startswith(str(cache_dir))


def test_the_standard_library_path_without_zstandard_says_what_to_install(
    zst_archive: Path, cache_dir: Path, without_libarchive: None, without_zstandard: None
) -> None:
    with pytest.raises(CondaEnvError) as refused:
        activated_python(zst_archive, cache_dir)

    assert str(refused.value) == (
        f"conda_env: '{zst_archive}' is compressed with zstd: install the zstandard package"
    )
    assert not refused.value.retryable
    assert list(cache_dir.glob("*.json")) == []

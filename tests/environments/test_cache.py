"""The cache of unpacked environments: unpack once, share safely, survive kills, evict politely.

Most tests use small hand-made archives with the conda-pack layout whose ``bin/conda-unpack``
is a shell script doing what the real one does (rewrite a placeholder prefix to the folder it
runs from) and, on request, logging its runs or hanging. One test uses a real conda-pack
archive of a real environment (the session's ``packed_env``). The tests of formats, hostile
members and permissions run with each unpacker: libarchive, and the standard library that
takes over where libarchive cannot be loaded.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import signal
import stat
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from airflow_jupyter_provider.environments.cache import EnvironmentCache
from airflow_jupyter_provider.environments.sources import LocalArchive, resolve_source
from airflow_jupyter_provider.exceptions import ArchiveError, CacheDirError, ChecksumMismatchError
from tests.helpers import tar_member

REPO = Path(__file__).resolve().parents[2]
PLACEHOLDER = "/opt/packed/env"
CONDA_UNPACK = b"""#!/bin/sh
set -e
prefix=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "$CONDA_UNPACK_LOG" ]; then echo "$prefix" >> "$CONDA_UNPACK_LOG"; fi
if [ -n "$CONDA_UNPACK_HANG" ]; then touch "$CONDA_UNPACK_HANG"; sleep 600; fi
sleep "${CONDA_UNPACK_SLEEP:-0}"
sed -i "s#/opt/packed/env#$prefix#" "$prefix/etc/prefix.txt"
"""
FORMATS = (".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".tar", ".zip", ".tar.zst", ".tzst", ".TAR.GZ")


def _layout(payload: int) -> list[tuple[tarfile.TarInfo, bytes]]:
    return [
        (tar_member("bin/activate"), b"# activate\n"),
        (tar_member("bin/conda-unpack", mode=0o755), CONDA_UNPACK),
        (tar_member("conda-meta/history"), b""),
        (tar_member("etc/prefix.txt"), f"{PLACEHOLDER}\n".encode()),
        (tar_member("share/payload.bin"), os.urandom(payload)),
    ]


def make_archive(path: Path, *, payload: int = 1000, extra: tuple = (), layout: bool = True) -> Path:
    """A conda-pack-like archive in the format ``path``'s suffix names."""
    members = [*(_layout(payload) if layout else []), *extra]
    suffix = path.name.lower()
    if suffix.endswith(".zip"):
        with zipfile.ZipFile(path, "w") as zf:
            for info, data in members:
                entry = zipfile.ZipInfo(info.name)
                entry.external_attr = (stat.S_IFREG | info.mode) << 16
                zf.writestr(entry, data)
        return path
    buffer = io.BytesIO()
    compression = {".gz": "gz", ".tgz": "gz", ".bz2": "bz2", ".tbz2": "bz2", ".xz": "xz"}
    mode = next((c for s, c in compression.items() if suffix.endswith(s)), "")
    with tarfile.open(fileobj=buffer, mode=f"w:{mode}") as tar:
        for info, data in members:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data else None)
    data = buffer.getvalue()
    if suffix.endswith((".zst", ".tzst")):
        import zstandard

        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    return path


def _contents(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _assert_clean(cache: EnvironmentCache) -> None:
    """Nothing but the empty bookkeeping folders: no environment, no leftover, no lock."""
    assert _contents(cache.root) == [".locks", ".sources", ".tmp"]


QUIET = logging.Logger("environment-cache-test-quiet", logging.WARNING)


def _use(
    cache: EnvironmentCache, source, expected_sha256: str | None = None, log: logging.Logger = QUIET
) -> Path:
    """Use the environment of ``source`` once, as a task would; return its prefix."""
    with cache.environment(source, expected_sha256, log=log) as prefix:
        return prefix


@pytest.fixture
def log(caplog) -> logging.Logger:
    """A logger of the test's own, read by caplog: Airflow's logging set-up cannot disable it."""
    logger = logging.Logger("environment-cache-test", logging.INFO)
    logger.addHandler(caplog.handler)
    return logger


@pytest.fixture
def cache(tmp_path) -> EnvironmentCache:
    return EnvironmentCache(tmp_path / "cache")


@pytest.fixture
def unpack_log(tmp_path, monkeypatch) -> Path:
    """A file the fake conda-unpack appends one line to on each run."""
    log = tmp_path / "conda-unpack.log"
    monkeypatch.setenv("CONDA_UNPACK_LOG", str(log))
    return log


def _runs(unpack_log: Path) -> list[str]:
    return unpack_log.read_text().splitlines() if unpack_log.exists() else []


@pytest.mark.parametrize("suffix", FORMATS)
def test_each_format_is_unpacked_once_and_conda_unpack_runs_at_the_final_path(
    suffix, cache, tmp_path, unpack_log, caplog, log, unpacker
):
    archive = LocalArchive(make_archive(tmp_path / f"env{suffix}"))
    with cache.environment(archive, log=log) as prefix:
        assert prefix.parent == cache.root
        assert (prefix / "etc/prefix.txt").read_text() == f"{prefix}\n"
        assert os.access(prefix / "bin/conda-unpack", os.X_OK)
    assert "fetched" in caplog.text and f"unpacked into {prefix}" in caplog.text
    caplog.clear()
    with cache.environment(archive, log=log) as again:
        assert again == prefix
    assert f"cached at {prefix}" in caplog.text and "unpacked into" not in caplog.text
    assert _runs(unpack_log) == [str(prefix)]


def test_real_conda_pack_archive_runs_from_the_cache(packed_env, conda_install, tmp_path, caplog, log):
    cache = EnvironmentCache(tmp_path / "c")
    with cache.environment(resolve_source(packed_env.name, base_dir=packed_env.parent), log=log) as prefix:
        ran = subprocess.run(
            [prefix / "bin/python", "-c", "import sys, papermill; print(sys.prefix)"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert ran.stdout.strip() == str(prefix)
        # conda-unpack rewrote the prefix the environment was packed at to the cache's.
        activate_csh = (prefix / "bin/activate.csh").read_text()
        assert str(prefix) in activate_csh and str(conda_install.prefix) not in activate_csh
    assert f"unpacked into {prefix}" in caplog.text


def test_same_content_from_two_sources_is_unpacked_once(cache, tmp_path, http_server, unpack_log):
    archive = make_archive(tmp_path / "env.tar.gz")
    (http_server.root / "twin.tar.gz").write_bytes(archive.read_bytes())
    local_prefix = _use(cache, LocalArchive(archive))
    file_prefix = _use(cache, resolve_source(f"file://{archive}", base_dir=tmp_path))
    http_prefix = _use(cache, resolve_source(f"{http_server.url}/twin.tar.gz", base_dir=tmp_path))
    assert local_prefix == file_prefix == http_prefix
    assert len(_runs(unpack_log)) == 1


def test_http_source_is_not_downloaded_again_while_it_is_unchanged(cache, tmp_path, http_server, unpack_log):
    make_archive(http_server.root / "same.tar.gz")
    source = resolve_source(f"{http_server.url}/same.tar.gz", base_dir=tmp_path)
    prefixes = {_use(EnvironmentCache(cache.root), source) for _ in range(3)}
    assert http_server.gets("/same.tar.gz") == 1
    make_archive(http_server.root / "same.tar.gz", payload=2000)
    assert _use(cache, source) not in prefixes
    assert http_server.gets("/same.tar.gz") == 2
    assert len(_runs(unpack_log)) == 2


def test_http_source_without_fingerprint_is_downloaded_each_time_but_unpacked_once(
    cache, tmp_path, http_server, unpack_log
):
    make_archive(http_server.root / "nohead" / "env.tar.gz")
    source = resolve_source(f"{http_server.url}/nohead/env.tar.gz", base_dir=tmp_path)
    for _ in range(2):
        _use(cache, source)
    assert http_server.gets("/nohead/env.tar.gz") == 2
    assert len(_runs(unpack_log)) == 1


def test_pinned_source_without_fingerprint_is_downloaded_once(cache, tmp_path, http_server, unpack_log):
    archive = make_archive(http_server.root / "nohead" / "pinned.tar.gz")
    source = resolve_source(f"{http_server.url}/nohead/pinned.tar.gz", base_dir=tmp_path)
    pin = hashlib.sha256(archive.read_bytes()).hexdigest()
    for _ in range(2):
        _use(cache, source, pin)
    assert http_server.gets("/nohead/pinned.tar.gz") == 1
    assert len(_runs(unpack_log)) == 1


def test_s3_source_is_reused_from_the_cache_while_unchanged(
    cache, tmp_path, s3_server, s3_connection, unpack_log, caplog, log
):
    archive = make_archive(tmp_path / "env.tar.xz")
    url = s3_server.put("teams/env.tar.xz", archive.read_bytes())
    source = resolve_source(url, base_dir=tmp_path, conn_id=s3_connection)
    with cache.environment(source, log=log) as prefix:
        assert (prefix / "etc/prefix.txt").read_text() == f"{prefix}\n"
    assert f"Packed environment {url}: fetched" in caplog.text
    caplog.clear()
    with cache.environment(source, log=log) as again:
        assert again == prefix
    assert f"Packed environment {url}: cached at {prefix}" in caplog.text and "fetched" not in caplog.text
    assert len(_runs(unpack_log)) == 1


USE_ENVIRONMENT = """
import logging, sys
from pathlib import Path
from airflow_jupyter_provider.environments.cache import EnvironmentCache
from airflow_jupyter_provider.environments.sources import resolve_source
logging.basicConfig(level=logging.INFO, format="%(message)s")
source = resolve_source(sys.argv[2], base_dir=Path.cwd())
with EnvironmentCache(Path(sys.argv[1])).environment(source, log=logging.getLogger("task")) as prefix:
    print(prefix)
"""


def _start(
    cache: EnvironmentCache, location: str, script: str = USE_ENVIRONMENT, **env: str
) -> subprocess.Popen:
    """A process using the environment of ``location``, in a session of its own (see _kill)."""
    return subprocess.Popen(
        [sys.executable, "-c", script, str(cache.root), location],
        cwd=REPO,
        env={**os.environ, **env},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _kill(process: subprocess.Popen) -> None:
    """SIGKILL the process and what it started (conda-unpack), as when a worker dies."""
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def test_processes_starting_together_share_one_unpack(cache, tmp_path, unpack_log):
    archive = make_archive(tmp_path / "env.tar.gz")
    processes = [_start(cache, str(archive), CONDA_UNPACK_SLEEP="1") for _ in range(4)]
    results = [process.communicate(timeout=60) for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, results
    prefixes = {stdout.strip() for stdout, _ in results}
    assert len(prefixes) == 1
    assert _runs(unpack_log) == [*prefixes]
    assert sum("unpacked into" in stderr for _, stderr in results) == 1


def test_processes_starting_together_download_once(cache, tmp_path, http_server, unpack_log):
    make_archive(http_server.root / "together.tar.bz2", payload=500_000)
    url = f"{http_server.url}/together.tar.bz2"
    processes = [_start(cache, url) for _ in range(4)]
    results = [process.communicate(timeout=60) for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, results
    assert http_server.gets("/together.tar.bz2") == 1
    assert len(_runs(unpack_log)) == 1


def _wait_for(condition, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def test_process_killed_while_extracting_leaves_nothing_used_later(cache, tmp_path, unpack_log):
    many_files = tuple((tar_member(f"share/many/{i:05d}.txt"), b"x" * 100) for i in range(10_000))
    archive = make_archive(tmp_path / "env.tar", extra=many_files)
    process = _start(cache, str(archive))
    _wait_for(lambda: any(cache.root.glob(".tmp/*/share/many/*")), "the extraction to be under way")
    _kill(process)
    assert not list(cache.root.glob("*.json")), "the killed run marked an environment ready"
    prefix = _use(cache, LocalArchive(archive))
    assert len(list((prefix / "share/many").iterdir())) == 10_000
    assert (prefix / "etc/prefix.txt").read_text() == f"{prefix}\n"
    assert _contents(cache.root / ".tmp") == []
    assert _runs(unpack_log) == [str(prefix)]


def test_process_killed_in_conda_unpack_is_unpacked_again(cache, tmp_path, unpack_log):
    archive = make_archive(tmp_path / "env.tar.gz")
    hang = tmp_path / "conda-unpack-started"
    process = _start(cache, str(archive), CONDA_UNPACK_HANG=str(hang))
    _wait_for(hang.exists, "conda-unpack to start")
    _kill(process)
    (half_done,) = [p for p in cache.root.iterdir() if not p.name.startswith(".")]
    assert half_done.is_dir(), "conda-unpack runs at the final path"
    prefix = _use(cache, LocalArchive(archive))
    assert prefix == half_done
    assert (prefix / "etc/prefix.txt").read_text() == f"{prefix}\n"
    assert _runs(unpack_log) == [str(prefix), str(prefix)]


@pytest.mark.parametrize(
    ("member", "data"),
    [
        (tar_member("../../../escaped.txt"), b"x"),
        (tar_member("/tmp/absolute-from-cache-test.txt"), b"x"),
        (tar_member("lib/link", kind=tarfile.SYMTYPE, target="/etc/passwd"), b""),
        (tar_member("lib/link", kind=tarfile.SYMTYPE, target="../../../../outside"), b""),
        (tar_member("lib/hard", kind=tarfile.LNKTYPE, target="../../../etc/passwd"), b""),
        (tar_member("dev/null", kind=tarfile.CHRTYPE), b""),
        (tar_member("dev/sda", kind=tarfile.BLKTYPE), b""),
        (tar_member("bin/fifo", kind=tarfile.FIFOTYPE), b""),
    ],
    ids=[
        "dotdot",
        "absolute",
        "symlink-absolute",
        "symlink-outside",
        "hardlink-outside",
        "chardev",
        "blockdev",
        "fifo",
    ],
)
@pytest.mark.parametrize("suffix", [".tar.gz", ".tar.zst"])
def test_malicious_members_are_refused_and_leave_nothing(suffix, member, data, cache, tmp_path, unpacker):
    (tmp_path / "archives").mkdir()
    archive = make_archive(tmp_path / "archives" / f"evil{suffix}", extra=((member, data),))
    with pytest.raises(ArchiveError, match=f"cannot unpack '{re.escape(str(archive))}'") as refused:
        _use(cache, LocalArchive(archive))
    assert member.name.lstrip("/") in str(refused.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["archives", "cache"]
    assert not Path("/tmp/absolute-from-cache-test.txt").exists()
    _assert_clean(cache)


def test_truncated_archive_names_the_source_and_leaves_the_cache_clean(
    cache, tmp_path, http_server, unpacker
):
    whole = make_archive(tmp_path / "whole.tar.gz", payload=200_000).read_bytes()
    (http_server.root / "truncated.tar.gz").write_bytes(whole[: len(whole) // 2])
    url = f"{http_server.url}/truncated.tar.gz"
    with pytest.raises(ArchiveError, match=f"cannot unpack '{re.escape(url)}'"):
        _use(cache, resolve_source(url, base_dir=tmp_path))
    _assert_clean(cache)


def test_archive_without_the_conda_pack_layout_is_refused(cache, tmp_path):
    archive = make_archive(tmp_path / "plain.tar.gz", layout=False, extra=((tar_member("README"), b"hi"),))
    with pytest.raises(ArchiveError, match=r"is not a conda-pack archive .*bin/activate, bin/conda-unpack"):
        _use(cache, LocalArchive(archive))
    _assert_clean(cache)


def test_failing_conda_unpack_is_an_error_and_leaves_the_cache_clean(cache, tmp_path):
    failing = b"#!/bin/sh\necho 'ValueError: negative padding' >&2\nexit 1\n"
    archive = make_archive(
        tmp_path / "env.tgz", extra=((tar_member("bin/conda-unpack", mode=0o755), failing),)
    )
    with pytest.raises(
        ArchiveError, match=r"conda-unpack failed .*negative padding.*set env_cache_dir to a shorter"
    ):
        _use(cache, LocalArchive(archive))
    _assert_clean(cache)


def test_checksum_mismatch_fails_before_anything_is_unpacked(cache, tmp_path, http_server, unpack_log):
    archive = make_archive(http_server.root / "pinned.tar.gz")
    source = resolve_source(f"{http_server.url}/pinned.tar.gz", base_dir=tmp_path)
    wrong = "0" * 64
    with pytest.raises(
        ChecksumMismatchError, match=f"has sha256 [0-9a-f]{{64}}, but conda_env_sha256 is {wrong}"
    ):
        _use(cache, source, wrong)
    _assert_clean(cache)
    right = hashlib.sha256(archive.read_bytes()).hexdigest()
    _use(cache, source, right.upper())
    downloads = http_server.gets("/pinned.tar.gz")
    # Known content is checked against the pin without downloading it again.
    with pytest.raises(ChecksumMismatchError):
        _use(cache, source, wrong)
    assert http_server.gets("/pinned.tar.gz") == downloads
    assert len(_runs(unpack_log)) == 1


def test_pin_that_is_no_sha256_is_refused(cache, tmp_path):
    archive = LocalArchive(make_archive(tmp_path / "env.tar.gz"))
    with pytest.raises(ValueError, match="conda_env_sha256 must be 64 hexadecimal digits"):
        _use(cache, archive, "abc")


def test_eviction_spares_the_environment_in_use(tmp_path, caplog, log):
    cache = EnvironmentCache(tmp_path / "cache", max_bytes=250_000)
    a, b, c, d = (LocalArchive(make_archive(tmp_path / f"{name}.tar.gz", payload=100_000)) for name in "abcd")
    with cache.environment(a, log=QUIET) as in_use:
        evicted = _use(cache, b)
        kept = _use(cache, c, log=log)
        assert f"Evicted the cached environment {evicted}" in caplog.text
        assert in_use.is_dir() and kept.is_dir() and not evicted.exists()
        assert (in_use / "etc/prefix.txt").read_text() == f"{in_use}\n"
    _use(cache, d)
    assert not in_use.exists() and kept.is_dir()
    assert len(list(cache.root.glob("*.json"))) == 2


def test_environment_in_use_by_another_process_is_not_evicted(tmp_path):
    cache = EnvironmentCache(tmp_path / "cache", max_bytes=0)
    holding = USE_ENVIRONMENT + "    sys.stdout.flush(); sys.stdin.read()\n"
    holder = _start(cache, str(make_archive(tmp_path / "shared.tar.gz")), holding)
    shared = Path(holder.stdout.readline().strip())
    other = _use(cache, LocalArchive(make_archive(tmp_path / "other.tar.gz")))
    assert shared.is_dir() and other.is_dir(), "in use while it was unpacked, then by the holder"
    holder.communicate("")
    third = _use(cache, LocalArchive(make_archive(tmp_path / "third.tar.gz")))
    assert not shared.exists() and not other.exists() and third.is_dir()


def test_cache_files_are_not_writable_by_others(tmp_path, unpacker):
    cache = EnvironmentCache(tmp_path / "cache")
    loose = (
        (tar_member("share/loose.txt", mode=0o666), b"x"),
        (tar_member("share/dir/f.sh", mode=0o777), b"x"),
    )
    umask = os.umask(0o000)
    try:
        for suffix in (".tar.gz", ".zip"):
            _use(cache, LocalArchive(make_archive(tmp_path / f"loose{suffix}", extra=loose)))
    finally:
        os.umask(umask)
    writable = [p for p in cache.root.rglob("*") if not p.is_symlink() and p.lstat().st_mode & 0o022]
    assert writable == []


def test_cache_folder_writable_by_others_is_refused(tmp_path):
    root = tmp_path / "shared-cache"
    root.mkdir()
    root.chmod(0o777)
    with pytest.raises(CacheDirError, match="must be a folder owned by this user and not writable by others"):
        _use(EnvironmentCache(root), LocalArchive(make_archive(tmp_path / "env.tar.gz")))


def test_leftovers_of_archives_that_never_come_back_are_swept(cache, tmp_path):
    archive = make_archive(tmp_path / "env.tar.gz")
    hang = tmp_path / "conda-unpack-started"
    process = _start(cache, str(archive), CONDA_UNPACK_HANG=str(hang))
    _wait_for(hang.exists, "conda-unpack to start")
    _kill(process)
    other = _use(cache, LocalArchive(make_archive(tmp_path / "other.tar.gz")))
    assert sorted(p.name for p in cache.root.iterdir() if not p.name.startswith(".")) == [
        other.name,
        f"{other.name}.json",
    ]
    assert _contents(cache.root / ".locks") == [f"{other.name}.lock"]
    assert _contents(cache.root / ".tmp") == []
